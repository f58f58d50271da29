// ACME (RFC 8555): the organization's account with a certification authority, and certificates
// requested with it for a server's store, the http-01 challenge answered by that server itself.
// Exchange has no ACME cmdlets; these follow its naming (New-/Get-/Set-/Remove- for the account,
// a verb for the action as New-ExchangeCertificate -GenerateRequest and Import-ExchangeCertificate
// split it) and put the result where an administrator already looks: Get-ExchangeCertificate.
import crypto from 'node:crypto';
import { accountSettings } from '../../acme/acme-connection.js';
import { createAccountKeyPem, issueCertificate, registerAccount, updateAccountContact } from '../../acme/issuance.js';
import { DEFAULT_GRACE_PERIOD_MS, managedEntry, manageCertificate, renewCertificate } from '../../acme/renewal.js';
import { formatTimeSpan } from '../framework/units.js';
import type { CertificateStore } from '../../certificate-store/certificate-store.js';
import { readCertificateData } from '../../certificates/containers.js';
import type { DirectoryStore } from '../../directory/directory-store.js';
import type { AcmeAccountRecord, AcmeManagedCertificateRecord, ExchangeService, OrganizationRecord, ServerRecord } from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import type { CmdletContext } from '../framework/context.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType } from '../framework/declaration.js';
import { runOnServer, sameServer } from '../framework/server-fetch.js';
import { resolveServer } from './common.js';
import { view as certificateView } from './exchange-certificate.js';

const SERVICES = ['None', 'IIS', 'IMAP', 'POP', 'SMTP'];

export const acmeAccountType = defineObjectType({
  name: 'AcmeAccount',
  properties: [
    { name: 'Identity', type: 'String' },
    { name: 'DirectoryUrl', type: 'String' },
    { name: 'ContactEmail', type: 'String', multiValued: true },
    { name: 'AccountUrl', type: 'String' },
    { name: 'ExternalAccountKeyId', type: 'String' },
    { name: 'AcmeServerCertificates', type: 'String', multiValued: true },
    { name: 'TermsOfServiceAgreed', type: 'Boolean' },
    { name: 'AlertRecipients', type: 'String', multiValued: true },
    { name: 'WhenCreated', type: 'DateTime' },
    { name: 'WhenChanged', type: 'DateTime' },
  ],
  defaultTableView: ['DirectoryUrl', 'ContactEmail', 'AccountUrl'],
  defaultListView: ['Identity', 'DirectoryUrl', 'ContactEmail', 'AccountUrl', 'ExternalAccountKeyId', 'AcmeServerCertificates', 'TermsOfServiceAgreed', 'AlertRecipients', 'WhenCreated', 'WhenChanged'],
});

export const acmeCertificateType = defineObjectType({
  name: 'AcmeCertificate',
  properties: [
    { name: 'Thumbprint', type: 'String' },
    { name: 'DomainNames', type: 'String', multiValued: true },
    { name: 'RequestServer', type: 'String' },
    { name: 'Servers', type: 'String', multiValued: true },
    { name: 'NotBefore', type: 'DateTime' },
    { name: 'NotAfter', type: 'DateTime' },
    { name: 'RenewalState', type: 'String' },
    { name: 'NextRenewal', type: 'DateTime' },
    { name: 'RenewingServer', type: 'String' },
    { name: 'FailedAttempts', type: 'Int32' },
    { name: 'LastAttempt', type: 'DateTime' },
    { name: 'LastError', type: 'String' },
    { name: 'RetiringCertificates', type: 'String', multiValued: true },
    { name: 'OldCertificateGracePeriod', type: 'TimeSpan' },
    { name: 'HttpPort', type: 'Int32' },
  ],
  defaultTableView: ['Thumbprint', 'DomainNames', 'NotAfter', 'RenewalState', 'NextRenewal'],
  defaultListView: [],
});

/**
 * Scheduled: waiting for NextRenewal. Renewing: a server holds the lease now. Failing: the last attempts
 * failed (LastError says why), retried at NextRenewal. NotInstalled: no server holds the certificate any more.
 */
function renewalState(e: AcmeManagedCertificateRecord, installedOn: string[], now: Date): string {
  if (installedOn.length === 0) return 'NotInstalled';
  if (e.lease && e.lease.until.getTime() > now.getTime()) return 'Renewing';
  return e.failures > 0 ? 'Failing' : 'Scheduled';
}

function acmeCertificateObject(e: AcmeManagedCertificateRecord, installedOn: string[], now: Date) {
  const leased = e.lease && e.lease.until.getTime() > now.getTime() ? e.lease.holder : null;
  return {
    $type: 'AcmeCertificate',
    Thumbprint: e.thumbprint,
    DomainNames: e.names,
    RequestServer: e.requestServer,
    Servers: installedOn,
    NotBefore: e.notBefore,
    NotAfter: e.notAfter,
    RenewalState: renewalState(e, installedOn, now),
    NextRenewal: e.nextRenewal,
    RenewingServer: leased,
    FailedAttempts: e.failures,
    LastAttempt: e.lastAttempt,
    LastError: e.lastError,
    RetiringCertificates: e.retiring.map((r) => `${r.thumbprint} (removed after ${r.removeAfter.toISOString()})`),
    OldCertificateGracePeriod: formatTimeSpan(e.gracePeriodMs),
    HttpPort: e.httpPort,
  };
}

function accountObject(a: AcmeAccountRecord) {
  return {
    $type: 'AcmeAccount',
    Identity: new URL(a.directoryUrl).host,
    DirectoryUrl: a.directoryUrl,
    ContactEmail: a.contact,
    AccountUrl: a.accountUrl,
    ExternalAccountKeyId: a.externalAccountKeyId,
    // Thumbprint and subject, so an administrator sees which CA is trusted without exporting anything.
    AcmeServerCertificates: a.acmeServerCertificates.map((der) => {
      const c = new crypto.X509Certificate(der);
      return `${crypto.createHash('sha1').update(der).digest('hex').toUpperCase()} ${c.subject.replace(/\n/g, ', ')}`;
    }),
    TermsOfServiceAgreed: a.termsOfServiceAgreed,
    AlertRecipients: a.alertRecipients ?? [],
    WhenCreated: a.whenCreated,
    WhenChanged: a.whenChanged,
  };
}

async function organization(directory: DirectoryStore): Promise<OrganizationRecord> {
  const org = await directory.getOrganization();
  if (!org) throw new InterchangeError('ICX_DIRECTORY_UNAVAILABLE', 'The directory holds no organization.');
  return org;
}

function missingAccount(): InterchangeError {
  return new InterchangeError('ICX_ACME_ACCOUNT_MISSING', "The organization has no ACME account. Create one with New-AcmeAccount -DirectoryUrl <the CA's ACME directory URL> -ContactEmail <address> -AcceptTermsOfService.");
}

async function currentAccount(directory: DirectoryStore): Promise<AcmeAccountRecord> {
  const account = (await organization(directory)).acmeAccount;
  if (!account) throw missingAccount();
  return account;
}

function checkDirectoryUrl(value: unknown): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new InterchangeError('ICX_PARAM_INVALID', `"${String(value)}" isn't a URL. Give the CA's ACME directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory.`, { parameter: 'DirectoryUrl' });
  }
  // RFC 8555 §6.1: ACME runs over HTTPS only; the account key signs, but nothing else protects the answers.
  if (url.protocol !== 'https:') throw new InterchangeError('ICX_PARAM_INVALID', `The ACME directory URL must be https:// (RFC 8555 §6.1): ${url.href}`, { parameter: 'DirectoryUrl' });
  return url.href;
}

function checkEmails(value: unknown, parameter: 'ContactEmail' | 'AlertRecipient' = 'ContactEmail'): string[] {
  const list = (value as string[] | null | undefined) ?? [];
  for (const e of list) {
    if (!/^[^@\s,;<>]+@[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i.test(e)) {
      const who = parameter === 'ContactEmail' ? 'the CA can write to' : 'an alert can be sent to';
      throw new InterchangeError('ICX_PARAM_INVALID', `"${e}" isn't an e-mail address ${who}.`, { parameter });
    }
  }
  return [...new Set(list)];
}

async function readServerCertificates(value: unknown): Promise<Buffer[]> {
  if (value === null || value === undefined) return [];
  try {
    return (await readCertificateData(value as Buffer)).certificates;
  } catch (e) {
    throw new InterchangeError('ICX_CERT_DATA_CORRUPT', `-AcmeServerCertificate holds no readable certificate (PEM or DER): ${(e as Error).message}`, { parameter: 'AcmeServerCertificate', cause: e });
  }
}

const serverCertificateParam = {
  name: 'AcmeServerCertificate',
  type: 'Byte[]',
  nullable: true,
  description:
    "The certificate (PEM or DER, one or several) of the CA that signed the ACME directory's HTTPS certificate, for a CA whose HTTPS does not chain to a public root: trusted for the connection to this directory only. -AcmeServerCertificate ([System.IO.File]::ReadAllBytes('/etc/ssl/acme-ca.pem')).",
} as const;

/** The names a server's certificate covers by default: its FQDN and the FQDNs its connectors present. */
export async function defaultCertificateNames(directory: DirectoryStore, server: ServerRecord): Promise<string[]> {
  const names = [server.fqdn];
  for (const r of await directory.listReceiveConnectors(server.name)) if (r.fqdn) names.push(r.fqdn);
  for (const s of await directory.listSendConnectors()) {
    if (s.fqdn && s.sourceTransportServers.some((x) => sameServer(x, server.name) || x.toLowerCase() === server.fqdn.toLowerCase())) names.push(s.fqdn);
  }
  const seen = new Set<string>();
  return names.filter((n) => {
    const k = n.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function checkAcmeNames(names: string[], given: boolean): string[] {
  const valid = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i;
  for (const n of names) {
    if (n.startsWith('*.')) throw new InterchangeError('ICX_PARAM_INVALID', `${n} is a wildcard name: a CA validates wildcards by dns-01 only, and Request-AcmeCertificate answers http-01.`, { parameter: 'DomainName' });
    if (!valid.test(n)) {
      throw new InterchangeError(
        'ICX_PARAM_INVALID',
        given ? `${n} isn't a fully qualified domain name a public CA can validate.` : `${n} (the server's FQDN or a connector's) isn't a fully qualified domain name a CA can validate; give the names with -DomainName.`,
        { parameter: 'DomainName' },
      );
    }
  }
  return names;
}

export function acmeCmdlets(store: CertificateStore): CmdletDeclaration[] {
  const get = defineCmdlet({
    name: 'Get-AcmeAccount',
    synopsis: "Shows the organization's ACME account: the CA's directory URL, the contact addresses, the account's URL at the CA.",
    description: 'Secrets (the account key, the external account binding HMAC key) are never shown. Nothing is returned when the organization has no account.',
    parameters: [],
    outputType: 'AcmeAccount',
    role: 'Organization Configuration',
    changesState: false,
    examples: [{ code: 'Get-AcmeAccount | Format-List', remarks: 'The account every server requests its ACME certificates with.' }],
    async run(ctx) {
      const account = (await organization(ctx.services.directory)).acmeAccount;
      return account ? [accountObject(account)] : [];
    },
  });

  const create = defineCmdlet({
    name: 'New-AcmeAccount',
    synopsis: 'Creates the organization-wide account with an ACME certification authority (RFC 8555), used by Request-AcmeCertificate on every server.',
    description:
      "Makes an account key, registers it with the CA (which checks the contact addresses and any external account binding now) and keeps the account in the directory, its key sealed under the organization's key like certificate private keys. An organization has one ACME account.",
    parameters: [
      { name: 'DirectoryUrl', type: 'String', position: 0, mandatory: true, description: "The CA's ACME directory URL (https://)." },
      { name: 'ContactEmail', type: 'String', multiValued: true, description: 'Addresses the CA writes to about expiring certificates and account problems.' },
      { name: 'AcceptTermsOfService', type: 'SwitchParameter', description: "Agree to the CA's terms of service; most CAs refuse an account without it." },
      { name: 'ExternalAccountKeyId', type: 'String', description: 'Key identifier of an external account binding (RFC 8555 §7.3.4), for CAs that tie ACME accounts to a customer account.' },
      { name: 'ExternalAccountHmacKey', type: 'SecureString', description: 'The HMAC key of the external account binding, base64url as the CA gives it.' },
      serverCertificateParam,
    ],
    outputType: 'AcmeAccount',
    role: 'Organization Configuration',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [
      { code: 'New-AcmeAccount -DirectoryUrl https://acme-v02.api.letsencrypt.org/directory -ContactEmail hostmaster@contoso.com -AcceptTermsOfService', remarks: "An account with Let's Encrypt." },
      {
        code: "New-AcmeAccount -DirectoryUrl https://acme.contoso.com/directory -ContactEmail pki@contoso.com -AcceptTermsOfService -ExternalAccountKeyId kid-1 -ExternalAccountHmacKey (ConvertTo-SecureString -String 'c2VjcmV0' -AsPlainText -Force) -AcmeServerCertificate ([System.IO.File]::ReadAllBytes('/etc/ssl/contoso-root.pem'))",
        remarks: 'An account with an internal CA that requires external account binding and whose HTTPS is signed by the company root.',
      },
    ],
    async run(ctx, p) {
      const directoryUrl = checkDirectoryUrl(p.DirectoryUrl);
      const contact = checkEmails(p.ContactEmail);
      const keyId = (p.ExternalAccountKeyId as string | undefined) || null;
      const hmac = (p.ExternalAccountHmacKey as string | undefined) || null;
      if (!!keyId !== !!hmac) {
        throw new InterchangeError('ICX_PARAM_INVALID', 'An external account binding needs both -ExternalAccountKeyId and -ExternalAccountHmacKey.', { parameter: keyId ? 'ExternalAccountHmacKey' : 'ExternalAccountKeyId' });
      }
      const serverCertificates = await readServerCertificates(p.AcmeServerCertificate);
      const existing = (await organization(ctx.services.directory)).acmeAccount;
      if (existing) {
        throw new InterchangeError('ICX_OBJECT_EXISTS', `The organization already has an ACME account at ${existing.directoryUrl}. Change it with Set-AcmeAccount, or remove it with Remove-AcmeAccount first.`);
      }
      if (!ctx.shouldProcess(`Creating ACME account at "${directoryUrl}" with contact "${contact.join(', ') || 'none'}".`, directoryUrl)) return;
      const accountKeyPem = await createAccountKeyPem();
      // The CA is asked before the directory is written: nothing is kept of an account the CA refused.
      const accountUrl = await registerAccount(
        { directoryUrl, accountKeyPem, externalAccountBinding: keyId && hmac ? { kid: keyId, hmacKey: hmac } : undefined, acmeServerCertificates: serverCertificates },
        contact,
        !!p.AcceptTermsOfService,
      );
      const now = ctx.services.clock();
      const { vault } = ctx.services;
      const account: AcmeAccountRecord = {
        directoryUrl,
        contact,
        accountUrl,
        accountKey: vault.seal(Buffer.from(accountKeyPem, 'utf8')),
        externalAccountKeyId: keyId,
        externalAccountHmacKey: hmac ? vault.seal(Buffer.from(hmac, 'utf8')) : null,
        acmeServerCertificates: serverCertificates,
        termsOfServiceAgreed: !!p.AcceptTermsOfService,
        whenCreated: now,
        whenChanged: now,
      };
      await ctx.services.directory.exclusive(async (tx) => {
        const org = await organization(tx);
        if (org.acmeAccount) throw new InterchangeError('ICX_OBJECT_EXISTS', `The organization already has an ACME account at ${org.acmeAccount.directoryUrl}; it was created while this one was registered.`);
        await tx.updateOrganization({ ...org, acmeAccount: account });
      });
      ctx.objectModified = directoryUrl;
      return accountObject(account);
    },
  });

  const set = defineCmdlet({
    name: 'Set-AcmeAccount',
    synopsis: "Changes the organization's ACME account: its contact addresses (at the CA too) or the CA certificate trusted for the directory's HTTPS.",
    description: 'The directory URL and the account key are the account itself: to use another CA, remove the account and create a new one.',
    parameters: [
      { name: 'ContactEmail', type: 'String', multiValued: true, nullable: true, description: 'Replaces the contact addresses, at the CA and in the directory.' },
      serverCertificateParam,
      { name: 'AlertRecipient', type: 'String', multiValued: true, nullable: true, description: "Who gets a mail, sent through the organization's own transport, when the renewal of a certificate fails three times in a row (then at most daily while it keeps failing). $null: nobody." },
    ],
    role: 'Organization Configuration',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [
      { code: 'Set-AcmeAccount -ContactEmail hostmaster@contoso.com,pki@contoso.com', remarks: 'The CA writes to both addresses from now on.' },
      { code: "Set-AcmeAccount -AcmeServerCertificate ([System.IO.File]::ReadAllBytes('/etc/ssl/new-root.pem'))", remarks: "Trusts another CA for the directory's HTTPS, e.g. after the internal CA renewed its certificate." },
    ],
    async run(ctx, p) {
      const account = await currentAccount(ctx.services.directory);
      const next: AcmeAccountRecord = { ...account, whenChanged: ctx.services.clock() };
      if ('AcmeServerCertificate' in p) next.acmeServerCertificates = await readServerCertificates(p.AcmeServerCertificate);
      if ('ContactEmail' in p) next.contact = checkEmails(p.ContactEmail);
      if ('AlertRecipient' in p) next.alertRecipients = checkEmails(p.AlertRecipient, 'AlertRecipient');
      if (!ctx.shouldProcess(`Configuring ACME account at "${account.directoryUrl}".`, account.directoryUrl)) return;
      if ('ContactEmail' in p) await updateAccountContact(accountSettings(next, ctx.services.vault), next.contact);
      await ctx.services.directory.exclusive(async (tx) => {
        const org = await organization(tx);
        if (!org.acmeAccount) throw missingAccount();
        await tx.updateOrganization({ ...org, acmeAccount: next });
      });
    },
  });

  const remove = defineCmdlet({
    name: 'Remove-AcmeAccount',
    synopsis: "Removes the organization's ACME account from the directory, with its key.",
    description: "Certificates already issued stay installed. The CA keeps the account on its side (without the key nobody can use it); New-AcmeAccount then creates another one.",
    parameters: [],
    role: 'Organization Configuration',
    changesState: true,
    confirmImpact: 'High',
    examples: [{ code: 'Remove-AcmeAccount -Confirm:$false', remarks: 'Forgets the account, for instance before New-AcmeAccount with another CA.' }],
    async run(ctx) {
      const account = await currentAccount(ctx.services.directory);
      if (!ctx.shouldProcess(`Removing ACME account at "${account.directoryUrl}".`, account.directoryUrl)) return;
      await ctx.services.directory.exclusive(async (tx) => {
        const org = await organization(tx);
        const { acmeAccount: _gone, ...rest } = org;
        await tx.updateOrganization(rest);
      });
    },
  });

  const request = defineCmdlet({
    name: 'Request-AcmeCertificate',
    synopsis: "Requests a certificate from the organization's ACME CA for a server and installs it in that server's certificate store.",
    description:
      "Runs on the server that will hold the certificate (a call to another server goes there): it makes the key, orders the certificate for the names, answers each name's http-01 challenge itself on -HttpPort while the request runs, and installs the certificate with its chain and the services asked for, as Import-ExchangeCertificate would. The names default to the server's FQDN and the FQDNs of its Receive connectors and of the Send connectors it is a source server of. Each name must resolve, for the CA, to this server, and the CA must reach it on -HttpPort (port 80 for a public CA; a port forwarded to it, or an ACME server configured for another port). The internal transport certificate is not changed: Enable-ExchangeCertificate -Services SMTP makes the new certificate the default SMTP certificate, and asks.",
    parameters: [
      { name: 'Server', type: 'String', description: 'The server the certificate is for and installed on: name or FQDN. Default: the connected server.' },
      { name: 'DomainName', type: 'String', multiValued: true, description: "The names to certify, the first one the Subject's CN. Default: the server's FQDN and its connectors' FQDNs." },
      { name: 'Services', type: 'Flags', values: SERVICES, description: 'Services assigned to the new certificate: IIS, IMAP, POP, SMTP. Default: none.' },
      { name: 'HttpPort', type: 'Int32', range: [1, 65535], description: 'The port this server answers http-01 on while the request runs. Default 80.' },
      { name: 'FriendlyName', type: 'String', description: 'Default: the ACME directory host, e.g. acme-v02.api.letsencrypt.org. Fewer than 64 characters.' },
      { name: 'KeySize', type: 'Int32', description: 'RSA key size: 2048 (default) or 4096.' },
      { name: 'PrivateKeyExportable', type: 'Boolean', description: 'Whether Export-ExchangeCertificate may export the private key. Default $false.' },
      { name: 'AutoRenew', type: 'Boolean', description: 'Renew the certificate automatically, two thirds into its lifetime, with the same names, port and services (default $true). Get-AcmeCertificate shows the renewals.' },
      { name: 'OldCertificateGracePeriod', type: 'TimeSpan', description: 'How long a renewed certificate\'s predecessor stays installed before it is removed from every server (default 1.00:00:00).' },
    ],
    outputType: 'ExchangeCertificate',
    role: 'Exchange Server Certificates',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [
      { code: 'Request-AcmeCertificate -Server EX01 -Services SMTP', remarks: "A certificate for EX01's FQDN and its connectors' FQDNs, validated on port 80, assigned to SMTP." },
      { code: 'Request-AcmeCertificate -Server EX02 -DomainName mail.contoso.com,smtp.contoso.com -HttpPort 8080 -FriendlyName "Contoso SMTP"', remarks: "EX02 answers the challenge on port 8080 (the firewall forwards port 80 to it)." },
    ],
    async run(ctx, p) {
      const { directory, localServer } = ctx.services;
      const server = await resolveServer(directory, (p.Server as string | undefined) ?? localServer);
      const account = await currentAccount(directory);
      const given = (p.DomainName as string[] | undefined) ?? [];
      const names = checkAcmeNames(given.length ? [...new Set(given.map((n) => n.toLowerCase()))] : await defaultCertificateNames(directory, server), given.length > 0);
      const httpPort = (p.HttpPort as number | undefined) ?? 80;
      const keySize = (p.KeySize as number | undefined) ?? 2048;
      if (keySize !== 2048 && keySize !== 4096) throw new InterchangeError('ICX_PARAM_INVALID', `${keySize} is not a valid key size for an ACME certificate. Valid key sizes are 4096 and 2048.`, { parameter: 'KeySize' });
      const friendlyName = (p.FriendlyName as string | undefined) ?? new URL(account.directoryUrl).hostname;
      if (friendlyName.length > 63) throw new InterchangeError('ICX_PARAM_INVALID', 'The friendly name is too long. The maximum allowed length is 63 characters.', { parameter: 'FriendlyName' });
      const services = ((p.Services as string[] | undefined) ?? []).filter((s) => s !== 'None') as ExchangeService[];
      if (!ctx.shouldProcess(`Request ACME certificate:\tServer="${server.name}",\tDomainName="${names.join(', ')}",\tServices="${services.join(', ') || 'None'}",\tHttpPort="${httpPort}",\tCA="${account.directoryUrl}"`, server.name)) return;
      if (!sameServer(server.name, localServer)) return forward(ctx, server, { ...p, Server: server.name });
      const issued = await issueCertificate({ settings: accountSettings(account, ctx.services.vault), serverName: server.name, names, httpPort, keySize });
      const record = await store.installIssued(server.name, issued, { friendlyName, services, privateKeyExportable: !!p.PrivateKeyExportable });
      if (p.AutoRenew !== false) {
        const gracePeriodMs = (p.OldCertificateGracePeriod as number | undefined) ?? DEFAULT_GRACE_PERIOD_MS;
        await manageCertificate(directory, managedEntry({ thumbprint: record.thumbprint, requestServer: server.name, names, httpPort, keySize, friendlyName, services, privateKeyExportable: !!p.PrivateKeyExportable, gracePeriodMs }, record.der!));
      }
      ctx.objectModified = `${server.name}\\${record.thumbprint}`;
      return certificateView(await store.get(server.name, record.thumbprint));
    },
  });

  const getManaged = defineCmdlet({
    name: 'Get-AcmeCertificate',
    synopsis: 'Lists the certificates Request-AcmeCertificate issued that renew themselves, with their renewal state, next renewal and last error.',
    parameters: [{ name: 'Thumbprint', type: 'String', position: 0, description: 'Only this certificate (the current one of its renewals).' }],
    outputType: 'AcmeCertificate',
    role: 'Exchange Server Certificates',
    changesState: false,
    examples: [{ code: 'Get-AcmeCertificate | Format-List Thumbprint,DomainNames,Servers,NotAfter,RenewalState,NextRenewal,LastError', remarks: 'When each ACME certificate renews, and why the last attempt failed if it did.' }],
    async run(ctx, p) {
      const { directory } = ctx.services;
      const wanted = (p.Thumbprint as string | undefined)?.toUpperCase();
      const entries = ((await organization(directory)).acmeCertificates ?? []).filter((e) => !wanted || e.thumbprint.toUpperCase() === wanted);
      if (wanted && entries.length === 0) throw new InterchangeError('ICX_CERT_NOT_FOUND', `No ACME certificate with thumbprint ${wanted} renews itself (Get-AcmeCertificate lists those that do).`, { parameter: 'Thumbprint' });
      const servers = await directory.listServers();
      const now = ctx.services.clock();
      const out = [];
      for (const e of entries) {
        const installedOn: string[] = [];
        for (const s of servers) if ((await directory.getCertificate(s.name, e.thumbprint.toUpperCase()))?.der) installedOn.push(s.name);
        out.push(acmeCertificateObject(e, installedOn, now));
      }
      return out;
    },
  });

  const update = defineCmdlet({
    name: 'Update-AcmeCertificate',
    synopsis: 'Renews an ACME certificate now, as its automatic renewal would: the new certificate goes to every server that held the old one, Send connectors follow it when the issuer or subject changed, and the old one is removed after its grace period.',
    description:
      "Runs on the server that answers the http-01 challenges (the one that requested the certificate, unless -Server names another that the names reach). If another server is renewing the certificate at that moment, the command is refused and that server's renewal goes on. A failure is also recorded for Get-AcmeCertificate and Get-ExchangeCertificateAlert, and the old certificate stays in use.",
    parameters: [
      { name: 'Thumbprint', type: 'String', position: 0, mandatory: true, valueFromPipelineByPropertyName: true, description: 'The certificate to renew (the current one of its renewals).' },
      { name: 'Server', type: 'String', description: 'The server that renews it and answers the challenges. Default: the server that requested it.' },
    ],
    outputType: 'ExchangeCertificate',
    role: 'Exchange Server Certificates',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [{ code: 'Get-AcmeCertificate | Where-Object RenewalState -eq Failing | Update-AcmeCertificate', remarks: 'Tries the failing renewals again now, once the cause is fixed.' }],
    async run(ctx, p) {
      const { directory, localServer } = ctx.services;
      const thumbprint = String(p.Thumbprint).toUpperCase();
      const entry = ((await organization(directory)).acmeCertificates ?? []).find((e) => e.thumbprint.toUpperCase() === thumbprint);
      if (!entry) throw new InterchangeError('ICX_CERT_NOT_FOUND', `The certificate ${thumbprint} is not renewed by ACME: only certificates that Request-AcmeCertificate issued are (Get-AcmeCertificate lists them).`, { parameter: 'Thumbprint' });
      const server = await resolveServer(directory, (p.Server as string | undefined) ?? entry.requestServer);
      if (!ctx.shouldProcess(`Renew ACME certificate:\tThumbprint="${thumbprint}",\tServer="${server.name}",\tDomainName="${entry.names.join(', ')}"`, thumbprint)) return;
      if (!sameServer(server.name, localServer)) {
        return runOnServer(ctx, server, 'Update-AcmeCertificate', { ...p, Server: server.name }, (detail) => new InterchangeError('ICX_TRANSPORT_UNREACHABLE', `Can't reach ${server.name} to renew the ACME certificate there: ${detail}.`));
      }
      const transport = ctx.services.transport;
      const sendAlert = transport?.submitSystemMessage ? (m: { to: readonly string[]; subject: string; text: string }) => transport.submitSystemMessage!(m) : undefined;
      const outcome = await renewCertificate({ directory, store, vault: ctx.services.vault, serverName: server.name, clock: ctx.services.clock, sendAlert }, thumbprint, { force: true });
      if (!outcome) throw new InterchangeError('ICX_INTERNAL', `The renewal of ${thumbprint} did not run.`);
      for (const c of outcome.connectorsRepointed) ctx.writeWarning(`The TlsCertificateName of the ${c} now names the renewed certificate: its issuer or subject changed.`);
      ctx.objectModified = `${server.name}\\${outcome.newThumbprint}`;
      return certificateView(await store.get(server.name, outcome.newThumbprint));
    },
  });

  return [get, create, set, remove, request, getManaged, update];
}

/** The challenge listener and the store's key belong to the server the certificate is for: the request runs there. */
function forward(ctx: CmdletContext, server: ServerRecord, parameters: Record<string, unknown>): Promise<unknown[]> {
  return runOnServer(ctx, server, 'Request-AcmeCertificate', parameters, (detail) => new InterchangeError('ICX_TRANSPORT_UNREACHABLE', `Can't reach ${server.name} to request the ACME certificate there (its http-01 listener and its store run on it): ${detail}.`));
}
