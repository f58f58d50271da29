// ACME (RFC 8555): the organization's account with a certification authority, and certificates
// requested with it for a server's store, validated by http-01 or tls-alpn-01 answered by that server
// itself, or by dns-01 through the account's DNS update server (RFC 2136).
// Exchange has no ACME cmdlets; these follow its naming (New-/Get-/Set-/Remove- for the account,
// a verb for the action as New-ExchangeCertificate -GenerateRequest and Import-ExchangeCertificate
// split it) and put the result where an administrator already looks: Get-ExchangeCertificate.
import crypto from 'node:crypto';
import net from 'node:net';
import { accountSettings, dnsUpdateTarget } from '../../acme/acme-connection.js';
import { CHALLENGE_TYPES, type ChallengeChoice, type ChallengeType } from '../../acme/challenges/challenge.js';
import { parseServer, TSIG_ALGORITHMS, type TsigAlgorithm } from '../../acme/challenges/dns-update.js';
import { createAccountKeyPem, issueCertificate, registerAccount, updateAccountContact } from '../../acme/issuance.js';
import { DEFAULT_GRACE_PERIOD_MS, managedEntry, manageCertificate, renewCertificate } from '../../acme/renewal.js';
import { formatTimeSpan } from '../framework/units.js';
import type { CertificateStore } from '../../certificate-store/certificate-store.js';
import { readCertificateData } from '../../certificates/containers.js';
import type { DirectoryStore } from '../../directory/directory-store.js';
import type { AcmeAccountRecord, AcmeDnsUpdateRecord, AcmeManagedCertificateRecord, ExchangeService, OrganizationRecord, ServerRecord } from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import type { KeyVault } from '../../security/key-vault.js';
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
    { name: 'DnsUpdateServer', type: 'String' },
    { name: 'DnsUpdateKeyName', type: 'String' },
    { name: 'DnsUpdateKeyAlgorithm', type: 'String' },
    { name: 'DnsUpdateZone', type: 'String' },
    { name: 'WhenCreated', type: 'DateTime' },
    { name: 'WhenChanged', type: 'DateTime' },
  ],
  defaultTableView: ['DirectoryUrl', 'ContactEmail', 'AccountUrl'],
  defaultListView: ['Identity', 'DirectoryUrl', 'ContactEmail', 'AccountUrl', 'ExternalAccountKeyId', 'AcmeServerCertificates', 'TermsOfServiceAgreed', 'AlertRecipients', 'DnsUpdateServer', 'DnsUpdateKeyName', 'DnsUpdateKeyAlgorithm', 'DnsUpdateZone', 'WhenCreated', 'WhenChanged'],
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
    { name: 'ChallengeType', type: 'String' },
    { name: 'HttpPort', type: 'Int32' },
    { name: 'TlsAlpnPort', type: 'Int32' },
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
    ChallengeType: e.challengeType ?? 'Http01',
    HttpPort: e.challengeType === undefined || e.challengeType === 'Http01' ? e.httpPort : null,
    TlsAlpnPort: e.challengeType === 'TlsAlpn01' ? (e.tlsAlpnPort ?? 443) : null,
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
    // The TSIG secret is never shown, as the account key is not.
    DnsUpdateServer: a.dnsUpdate?.server ?? null,
    DnsUpdateKeyName: a.dnsUpdate?.keyName ?? null,
    DnsUpdateKeyAlgorithm: a.dnsUpdate?.algorithm ?? null,
    DnsUpdateZone: a.dnsUpdate?.zone ?? null,
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

const DNS_UPDATE_PARAMS = ['DnsUpdateServer', 'DnsUpdateKeyName', 'DnsUpdateKeyAlgorithm', 'DnsUpdateKeySecret', 'DnsUpdateZone'];
const DNS_NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9])?)*\.?$/i;

/** The DNS update setting after Set-AcmeAccount's parameters; undefined: none. */
function dnsUpdateSetting(current: AcmeDnsUpdateRecord | undefined, p: Record<string, unknown>, vault: KeyVault): AcmeDnsUpdateRecord | undefined {
  if ('DnsUpdateServer' in p && (p.DnsUpdateServer === null || p.DnsUpdateServer === '')) {
    const other = DNS_UPDATE_PARAMS.find((k) => k !== 'DnsUpdateServer' && k in p);
    if (other) throw new InterchangeError('ICX_PARAM_INVALID', `-${other} can't be given with -DnsUpdateServer $null, which removes the DNS update setting.`, { parameter: other });
    return undefined;
  }
  const server = 'DnsUpdateServer' in p ? String(p.DnsUpdateServer).trim() : current?.server;
  if (!server) throw new InterchangeError('ICX_PARAM_INVALID', 'The ACME account has no DNS update server: give -DnsUpdateServer with -DnsUpdateKeyName and -DnsUpdateKeySecret.', { parameter: 'DnsUpdateServer' });
  const { host, port } = parseServer(server);
  if (!host || !(Number.isInteger(port) && port >= 1 && port <= 65535) || !(DNS_NAME.test(host) || net.isIP(host))) {
    throw new InterchangeError('ICX_PARAM_INVALID', `"${server}" isn't a DNS server: give host or host:port (e.g. ns1.contoso.com, 192.0.2.53:5353, [2001:db8::53]:53).`, { parameter: 'DnsUpdateServer' });
  }
  const keyName = 'DnsUpdateKeyName' in p ? String(p.DnsUpdateKeyName ?? '').trim().replace(/\.$/, '') : current?.keyName;
  if (!keyName) throw new InterchangeError('ICX_PARAM_INVALID', 'A DNS update server needs the TSIG key it takes: give -DnsUpdateKeyName and -DnsUpdateKeySecret.', { parameter: 'DnsUpdateKeyName' });
  if (!DNS_NAME.test(keyName)) throw new InterchangeError('ICX_PARAM_INVALID', `"${keyName}" isn't a TSIG key name (a domain name, e.g. acme-update or acme-update.contoso.com).`, { parameter: 'DnsUpdateKeyName' });
  let secret = current?.secret;
  if ('DnsUpdateKeySecret' in p) {
    const text = String(p.DnsUpdateKeySecret ?? '').trim();
    const bytes = Buffer.from(text, 'base64');
    if (!text || !/^[A-Za-z0-9+/]+={0,2}$/.test(text) || bytes.length < 16) {
      throw new InterchangeError('ICX_PARAM_INVALID', "-DnsUpdateKeySecret isn't a TSIG secret: give the base64 secret of the key's file (tsig-keygen writes it), at least 16 bytes.", { parameter: 'DnsUpdateKeySecret' });
    }
    secret = vault.seal(bytes);
  }
  if (!secret) throw new InterchangeError('ICX_PARAM_INVALID', 'A DNS update server needs the TSIG key it takes: give -DnsUpdateKeySecret with -DnsUpdateKeyName.', { parameter: 'DnsUpdateKeySecret' });
  const algorithm = 'DnsUpdateKeyAlgorithm' in p ? (String(p.DnsUpdateKeyAlgorithm).toLowerCase() as TsigAlgorithm) : (current?.algorithm ?? 'hmac-sha256');
  let zone = 'DnsUpdateZone' in p ? ((p.DnsUpdateZone as string | null) || null) : (current?.zone ?? null);
  if (zone) {
    zone = zone.trim().toLowerCase().replace(/\.$/, '');
    if (!DNS_NAME.test(zone)) throw new InterchangeError('ICX_PARAM_INVALID', `"${zone}" isn't a DNS zone name.`, { parameter: 'DnsUpdateZone' });
  }
  return { server, keyName, algorithm, secret, zone };
}

function checkAcmeNames(names: string[], given: boolean, challengeType: ChallengeType): string[] {
  const valid = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i;
  for (const n of names) {
    if (n.startsWith('*.') && challengeType !== 'Dns01') {
      throw new InterchangeError('ICX_PARAM_INVALID', `${n} is a wildcard name: a CA validates wildcards by dns-01 only. Request it with -ChallengeType Dns01 (the ACME account needs a DNS update server: Set-AcmeAccount -DnsUpdateServer).`, { parameter: 'DomainName' });
    }
    if (!valid.test(n.startsWith('*.') ? n.slice(2) : n)) {
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
    synopsis: "Changes the organization's ACME account: its contact addresses (at the CA too), the CA certificate trusted for the directory's HTTPS, alert recipients, or the DNS update server dns-01 answers go to.",
    description:
      "The directory URL and the account key are the account itself: to use another CA, remove the account and create a new one. The DNS update server (RFC 2136) is where Request-AcmeCertificate -ChallengeType Dns01 adds the TXT record _acme-challenge.<name> for each name, signed with a TSIG key (RFC 8945) that the server allows to update TXT records of the zone (BIND: update-policy { grant <key> zonesub TXT; }); the record is removed when the request ends. The secret is kept sealed like the account key and never shown.",
    parameters: [
      { name: 'ContactEmail', type: 'String', multiValued: true, nullable: true, description: 'Replaces the contact addresses, at the CA and in the directory.' },
      serverCertificateParam,
      { name: 'AlertRecipient', type: 'String', multiValued: true, nullable: true, description: "Who gets a mail, sent through the organization's own transport, when the renewal of a certificate fails three times in a row (then at most daily while it keeps failing). $null: nobody." },
      { name: 'DnsUpdateServer', type: 'String', nullable: true, description: 'The DNS server that takes dynamic updates (RFC 2136) for the zones of dns-01 names: host or host:port (port 53 by default), the zone\'s primary. $null: no dns-01 (the key goes with it).' },
      { name: 'DnsUpdateKeyName', type: 'String', description: 'The name of the TSIG key the server knows, e.g. acme-update (as in BIND\'s key "acme-update" { ... }).' },
      { name: 'DnsUpdateKeyAlgorithm', type: 'Enum', values: [...TSIG_ALGORITHMS], description: 'The TSIG key\'s algorithm: hmac-sha256 (default) or hmac-sha512.' },
      { name: 'DnsUpdateKeySecret', type: 'SecureString', description: 'The TSIG key\'s secret, base64 as BIND\'s key file (tsig-keygen) gives it.' },
      { name: 'DnsUpdateZone', type: 'String', nullable: true, description: 'The zone the records go in. Default ($null): the zone the server answers for each name.' },
    ],
    role: 'Organization Configuration',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [
      { code: 'Set-AcmeAccount -ContactEmail hostmaster@contoso.com,pki@contoso.com', remarks: 'The CA writes to both addresses from now on.' },
      { code: "Set-AcmeAccount -AcmeServerCertificate ([System.IO.File]::ReadAllBytes('/etc/ssl/new-root.pem'))", remarks: "Trusts another CA for the directory's HTTPS, e.g. after the internal CA renewed its certificate." },
      {
        code: "Set-AcmeAccount -DnsUpdateServer ns1.contoso.com -DnsUpdateKeyName acme-update -DnsUpdateKeySecret (ConvertTo-SecureString -String 'q3Bf...base64...=' -AsPlainText -Force)",
        remarks: 'dns-01 answers go to ns1.contoso.com, signed with the hmac-sha256 key acme-update; Request-AcmeCertificate -ChallengeType Dns01 can then certify names no host answers for, and wildcards.',
      },
      { code: 'Set-AcmeAccount -DnsUpdateServer $null', remarks: 'Forgets the DNS update server and its key.' },
    ],
    async run(ctx, p) {
      const account = await currentAccount(ctx.services.directory);
      const next: AcmeAccountRecord = { ...account, whenChanged: ctx.services.clock() };
      if ('AcmeServerCertificate' in p) next.acmeServerCertificates = await readServerCertificates(p.AcmeServerCertificate);
      if ('ContactEmail' in p) next.contact = checkEmails(p.ContactEmail);
      if ('AlertRecipient' in p) next.alertRecipients = checkEmails(p.AlertRecipient, 'AlertRecipient');
      if (DNS_UPDATE_PARAMS.some((k) => k in p)) {
        const dnsUpdate = dnsUpdateSetting(account.dnsUpdate, p, ctx.services.vault);
        if (dnsUpdate) next.dnsUpdate = dnsUpdate;
        else delete next.dnsUpdate;
      }
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
      "Runs on the server that will hold the certificate (a call to another server goes there): it makes the key, orders the certificate for the names, answers each name's challenge while the request runs (http-01 itself on -HttpPort by default; tls-alpn-01 itself on -TlsAlpnPort; dns-01 by adding the TXT record _acme-challenge.<name> on the ACME account's DNS update server and removing it afterwards), and installs the certificate with its chain and the services asked for, as Import-ExchangeCertificate would. The names default to the server's FQDN and the FQDNs of its Receive connectors and of the Send connectors it is a source server of. For http-01 and tls-alpn-01 each name must resolve, for the CA, to this server, and the CA must reach it on the port (80, resp. 443, for a public CA; a port forwarded to it, or an ACME server configured for another port). dns-01 needs no reachable host, and is the only challenge a CA accepts for a wildcard name (*.contoso.com). The internal transport certificate is not changed: Enable-ExchangeCertificate -Services SMTP makes the new certificate the default SMTP certificate, and asks.",
    parameters: [
      { name: 'Server', type: 'String', description: 'The server the certificate is for and installed on: name or FQDN. Default: the connected server.' },
      { name: 'DomainName', type: 'String', multiValued: true, description: "The names to certify, the first one the Subject's CN. Default: the server's FQDN and its connectors' FQDNs." },
      { name: 'Services', type: 'Flags', values: SERVICES, description: 'Services assigned to the new certificate: IIS, IMAP, POP, SMTP. Default: none.' },
      { name: 'ChallengeType', type: 'Enum', values: [...CHALLENGE_TYPES], description: "How the CA validates each name: Http01 (default: this server answers on -HttpPort), Dns01 (a TXT record on the ACME account's DNS update server, see Set-AcmeAccount -DnsUpdateServer; for names no host answers for, and the only way for wildcards such as *.contoso.com) or TlsAlpn01 (this server answers TLS on -TlsAlpnPort). Renewals answer the same challenge." },
      { name: 'HttpPort', type: 'Int32', range: [1, 65535], description: 'The port this server answers http-01 on while the request runs. Default 80.' },
      { name: 'TlsAlpnPort', type: 'Int32', range: [1, 65535], description: 'With -ChallengeType TlsAlpn01: the port this server answers tls-alpn-01 on while the request runs. Default 443.' },
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
      { code: "Request-AcmeCertificate -Server EX01 -DomainName 'contoso.com','*.contoso.com' -ChallengeType Dns01 -Services SMTP", remarks: 'A wildcard certificate, validated by TXT records that EX01 adds on the ACME account\'s DNS update server and removes afterwards.' },
      { code: 'Request-AcmeCertificate -Server EX01 -ChallengeType TlsAlpn01 -TlsAlpnPort 8443', remarks: 'EX01 answers tls-alpn-01 on port 8443 (the firewall forwards port 443 to it) while the request runs.' },
    ],
    async run(ctx, p) {
      const { directory, localServer } = ctx.services;
      const server = await resolveServer(directory, (p.Server as string | undefined) ?? localServer);
      const account = await currentAccount(directory);
      const given = (p.DomainName as string[] | undefined) ?? [];
      const challengeType = (p.ChallengeType as ChallengeType | undefined) ?? 'Http01';
      const names = checkAcmeNames(given.length ? [...new Set(given.map((n) => n.toLowerCase()))] : await defaultCertificateNames(directory, server), given.length > 0, challengeType);
      if (p.HttpPort !== undefined && challengeType !== 'Http01') throw new InterchangeError('ICX_PARAM_INVALID', `-HttpPort applies to -ChallengeType Http01 only, not ${challengeType}.`, { parameter: 'HttpPort' });
      if (p.TlsAlpnPort !== undefined && challengeType !== 'TlsAlpn01') throw new InterchangeError('ICX_PARAM_INVALID', `-TlsAlpnPort applies to -ChallengeType TlsAlpn01 only, not ${challengeType}.`, { parameter: 'TlsAlpnPort' });
      if (challengeType === 'Dns01' && !account.dnsUpdate) {
        throw new InterchangeError('ICX_ACME_DNS_UPDATE_MISSING', 'dns-01 needs a DNS update server: give the ACME account one with Set-AcmeAccount -DnsUpdateServer <host[:port]> -DnsUpdateKeyName <TSIG key> -DnsUpdateKeySecret <secret>.', { parameter: 'ChallengeType' });
      }
      const httpPort = (p.HttpPort as number | undefined) ?? 80;
      const tlsAlpnPort = (p.TlsAlpnPort as number | undefined) ?? 443;
      const keySize = (p.KeySize as number | undefined) ?? 2048;
      if (keySize !== 2048 && keySize !== 4096) throw new InterchangeError('ICX_PARAM_INVALID', `${keySize} is not a valid key size for an ACME certificate. Valid key sizes are 4096 and 2048.`, { parameter: 'KeySize' });
      const friendlyName = (p.FriendlyName as string | undefined) ?? new URL(account.directoryUrl).hostname;
      if (friendlyName.length > 63) throw new InterchangeError('ICX_PARAM_INVALID', 'The friendly name is too long. The maximum allowed length is 63 characters.', { parameter: 'FriendlyName' });
      const services = ((p.Services as string[] | undefined) ?? []).filter((s) => s !== 'None') as ExchangeService[];
      const where = challengeType === 'Http01' ? `HttpPort="${httpPort}"` : challengeType === 'TlsAlpn01' ? `TlsAlpnPort="${tlsAlpnPort}"` : `DnsUpdateServer="${account.dnsUpdate!.server}"`;
      if (!ctx.shouldProcess(`Request ACME certificate:\tServer="${server.name}",\tDomainName="${names.join(', ')}",\tServices="${services.join(', ') || 'None'}",\tChallengeType="${challengeType}",\t${where},\tCA="${account.directoryUrl}"`, server.name)) return;
      if (!sameServer(server.name, localServer)) return forward(ctx, server, { ...p, Server: server.name });
      const challenge: ChallengeChoice =
        challengeType === 'Dns01' ? { type: 'Dns01', dnsUpdate: dnsUpdateTarget(account, ctx.services.vault)! } : challengeType === 'TlsAlpn01' ? { type: 'TlsAlpn01', tlsAlpnPort } : { type: 'Http01', httpPort };
      const issued = await issueCertificate({ settings: accountSettings(account, ctx.services.vault), serverName: server.name, names, challenge, keySize });
      for (const w of issued.warnings) ctx.writeWarning(w);
      const record = await store.installIssued(server.name, issued, { friendlyName, services, privateKeyExportable: !!p.PrivateKeyExportable });
      if (p.AutoRenew !== false) {
        const gracePeriodMs = (p.OldCertificateGracePeriod as number | undefined) ?? DEFAULT_GRACE_PERIOD_MS;
        await manageCertificate(directory, managedEntry({ thumbprint: record.thumbprint, requestServer: server.name, names, challengeType, httpPort, ...(challengeType === 'TlsAlpn01' ? { tlsAlpnPort } : {}), keySize, friendlyName, services, privateKeyExportable: !!p.PrivateKeyExportable, gracePeriodMs }, record.der!));
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
      "Runs on the server that answers the challenges (the one that requested the certificate, unless -Server names another), with the challenge type it was requested with. If a renewal of it is under way at that moment (on another server, or already on this one), the command is refused and that renewal goes on. A failure is also recorded for Get-AcmeCertificate and Get-ExchangeCertificateAlert, and the old certificate stays in use.",
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
      for (const w of outcome.warnings) ctx.writeWarning(w);
      for (const c of outcome.connectorsRepointed) ctx.writeWarning(`The TlsCertificateName of the ${c} now names the renewed certificate: its issuer or subject changed.`);
      ctx.objectModified = `${server.name}\\${outcome.newThumbprint}`;
      return certificateView(await store.get(server.name, outcome.newThumbprint));
    },
  });

  return [get, create, set, remove, request, getManaged, update];
}

/** The challenge listener and the store's key belong to the server the certificate is for: the request runs there. */
function forward(ctx: CmdletContext, server: ServerRecord, parameters: Record<string, unknown>): Promise<unknown[]> {
  return runOnServer(ctx, server, 'Request-AcmeCertificate', parameters, (detail) => new InterchangeError('ICX_TRANSPORT_UNREACHABLE', `Can't reach ${server.name} to request the ACME certificate there (its challenge answers and its store run on it): ${detail}.`));
}
