import { CertificateStore, type EvaluatedCertificate, serverSideError } from '../../certificate-store/certificate-store.js';
import { EXTENSION_CLASSES, toExchangeCertificate } from '../../certificate-store/certificate-view.js';
import { acmeRenewalAlerts, certificateAlerts, EXPIRY_WARNING_DAYS } from '../../certificate-store/alerts.js';
import { rotateCertificate } from '../../certificate-store/rotation.js';
import { orderForDomain } from '../../certificate-store/selection.js';
import { normalizeX500Name, parseX500Name } from '../../certificates/x500-name.js';
import type { ExchangeService, ServerRecord } from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import type { CmdletContext } from '../framework/context.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType, type ParameterDeclaration } from '../framework/declaration.js';
import { formatCultureDateTime } from '../framework/units.js';
import { resolveServer } from './common.js';

const ALL_SERVICES = ['None', 'Federation', 'IIS', 'IMAP', 'POP', 'SMTP', 'UM', 'UMCallRouter'];

export const smtpDomainWithSubdomainsType = defineObjectType({
  name: 'SmtpDomainWithSubdomains',
  properties: [
    { name: 'IsStar', type: 'Boolean' },
    { name: 'IncludeSubDomains', type: 'Boolean' },
    { name: 'Address', type: 'String' },
    { name: 'Domain', type: 'String' },
    { name: 'SmtpDomain', type: 'String' },
  ],
  defaultTableView: ['IsStar', 'IncludeSubDomains', 'Address', 'Domain'],
  defaultListView: ['IsStar', 'IncludeSubDomains', 'Address', 'Domain', 'SmtpDomain'],
  toStringProperty: 'Address',
});

export const cryptoKeyAccessRuleType = defineObjectType({
  name: 'System.Security.AccessControl.CryptoKeyAccessRule',
  properties: [
    { name: 'CryptoKeyRights', type: 'String' },
    { name: 'AccessControlType', type: 'String' },
    { name: 'IdentityReference', type: 'String' },
    { name: 'IsInherited', type: 'Boolean' },
    { name: 'InheritanceFlags', type: 'String' },
    { name: 'PropagationFlags', type: 'String' },
  ],
  defaultTableView: ['IdentityReference', 'CryptoKeyRights', 'AccessControlType'],
  defaultListView: ['CryptoKeyRights', 'AccessControlType', 'IdentityReference', 'IsInherited', 'InheritanceFlags', 'PropagationFlags'],
});

/** X509Certificate2.Extensions: .NET's classes, each shown by its name as in Exchange's Format-List *. */
export const x509ExtensionTypes = ['X509Extension', ...Object.values(EXTENSION_CLASSES)].map((cls) =>
  defineObjectType({
    name: `System.Security.Cryptography.X509Certificates.${cls}`,
    properties: [
      { name: 'Critical', type: 'Boolean' },
      { name: 'Oid', type: 'String' },
      { name: 'OidFriendlyName', type: 'String' },
    ],
    defaultTableView: ['Oid', 'OidFriendlyName', 'Critical'],
    defaultListView: ['Critical', 'Oid', 'OidFriendlyName'],
  }),
);

/** Properties in the order of Exchange's `Format-List *`: the ExchangeCertificate's own, then those of X509Certificate2; Interchange's last. */
export const exchangeCertificateType = defineObjectType({
  name: 'ExchangeCertificate',
  properties: [
    { name: 'AccessRules', type: 'Object', multiValued: true, objectType: 'System.Security.AccessControl.CryptoKeyAccessRule' },
    { name: 'CertificateDomains', type: 'Object', multiValued: true, objectType: 'SmtpDomainWithSubdomains' },
    { name: 'HasPrivateKey', type: 'Boolean' },
    { name: 'IsSelfSigned', type: 'Boolean' },
    { name: 'Issuer', type: 'String' },
    { name: 'NotAfter', type: 'DateTime' },
    { name: 'NotBefore', type: 'DateTime' },
    { name: 'PublicKeySize', type: 'Int32' },
    { name: 'RootCAType', type: 'String' },
    { name: 'SerialNumber', type: 'String' },
    { name: 'Services', type: 'String' },
    { name: 'Status', type: 'String' },
    { name: 'Subject', type: 'String' },
    { name: 'Thumbprint', type: 'String' },
    { name: 'CertificateRequest', type: 'String' },
    { name: 'IISServices', type: 'String', multiValued: true },
    { name: 'Identity', type: 'String' },
    { name: 'KeyIdentifier', type: 'String' },
    { name: 'PrivateKeyExportable', type: 'Boolean' },
    { name: 'ServicesStringForm', type: 'String' },
    { name: 'Archived', type: 'Boolean' },
    { name: 'DnsNameList', type: 'String', multiValued: true },
    { name: 'EnhancedKeyUsageList', type: 'String', multiValued: true },
    { name: 'Extensions', type: 'Object', multiValued: true, objectType: 'System.Security.Cryptography.X509Certificates.X509Extension' },
    { name: 'FriendlyName', type: 'String' },
    { name: 'SendAsTrustedIssuer', type: 'Boolean' },
    { name: 'SignatureAlgorithm', type: 'String' },
    { name: 'SubjectKeyIdentifier', type: 'String' },
    { name: 'Version', type: 'Int32' },
    { name: 'Server', type: 'String' },
    { name: 'IsCertificateAuthority', type: 'Boolean' },
  ],
  defaultTableView: ['Thumbprint', 'ServicesStringForm', 'Subject'],
  tableColumnLabels: { ServicesStringForm: 'Services' },
  defaultListView: [
    'AccessRules',
    'CertificateDomains',
    'HasPrivateKey',
    'IsSelfSigned',
    'Issuer',
    'NotAfter',
    'NotBefore',
    'PublicKeySize',
    'RootCAType',
    'SerialNumber',
    'Services',
    'Status',
    'Subject',
    'Thumbprint',
  ],
});

export const certificateRotationStepType = defineObjectType({
  name: 'CertificateRotationStep',
  properties: [
    { name: 'Connector', type: 'String' },
    { name: 'ConnectorType', type: 'String' },
    { name: 'Server', type: 'String' },
    { name: 'OldThumbprint', type: 'String' },
    { name: 'NewThumbprint', type: 'String' },
    { name: 'TlsCertificateName', type: 'String' },
    { name: 'TlsCertificateNameChanged', type: 'Boolean' },
    { name: 'OldCertificate', type: 'String' },
    { name: 'Deployed', type: 'Boolean' },
  ],
  defaultTableView: ['Connector', 'Server', 'OldCertificate', 'NewThumbprint'],
  defaultListView: ['Connector', 'ConnectorType', 'Server', 'OldThumbprint', 'NewThumbprint', 'TlsCertificateName', 'TlsCertificateNameChanged', 'OldCertificate', 'Deployed'],
});

export const certificateAlertType = defineObjectType({
  name: 'ExchangeCertificateAlert',
  properties: [
    { name: 'Severity', type: 'String' },
    { name: 'Kind', type: 'String' },
    { name: 'Server', type: 'String' },
    { name: 'Thumbprint', type: 'String' },
    { name: 'NewThumbprint', type: 'String' },
    { name: 'Connector', type: 'String' },
    { name: 'NotAfter', type: 'DateTime' },
    { name: 'Message', type: 'String' },
    { name: 'Command', type: 'String' },
  ],
  defaultTableView: ['Severity', 'Server', 'Message'],
  defaultListView: ['Severity', 'Kind', 'Server', 'Thumbprint', 'NewThumbprint', 'Connector', 'NotAfter', 'Message', 'Command'],
});

export const binaryFileDataType = defineObjectType({
  name: 'BinaryFileDataObject',
  properties: [
    { name: 'FileData', type: 'Object' },
    { name: 'Identity', type: 'String' },
  ],
  defaultTableView: ['Identity'],
  defaultListView: ['FileData', 'Identity'],
});

const thumbprintParam = (mandatory: boolean): ParameterDeclaration => ({
  name: 'Thumbprint',
  type: 'String',
  sets: ['Thumbprint'],
  position: 0,
  mandatory: mandatory ? ['Thumbprint'] : undefined,
  valueFromPipeline: true,
  description: 'The thumbprint of the certificate (40 hexadecimal digits, any case).',
});

const identityParam = (mandatory: boolean): ParameterDeclaration => ({
  name: 'Identity',
  type: 'String',
  sets: ['Identity'],
  position: 0,
  mandatory: mandatory ? ['Identity'] : undefined,
  valueFromPipelineByPropertyName: true,
  description: 'ServerNameOrFQDN\\Thumbprint, or a thumbprint on the connected server. Cannot be combined with -Server.',
});

const serverParam: ParameterDeclaration = {
  name: 'Server',
  type: 'String',
  sets: ['Thumbprint'],
  description: 'The server whose certificate store to use: name or FQDN. Default: the connected server.',
};

/** Which server and thumbprint a call names, from -Identity (`Server\Thumbprint`) or -Server and -Thumbprint. */
async function target(ctx: CmdletContext, p: Record<string, unknown>): Promise<{ server: ServerRecord; thumbprint?: string }> {
  const { directory, localServer } = ctx.services;
  if (typeof p.Identity === 'string' && p.Identity) {
    const slash = p.Identity.lastIndexOf('\\');
    const serverPart = slash >= 0 ? p.Identity.slice(0, slash) : localServer;
    const thumbprint = slash >= 0 ? p.Identity.slice(slash + 1) : p.Identity;
    return { server: await resolveServer(directory, serverPart), thumbprint: thumbprint.trim().toUpperCase() };
  }
  const server = await resolveServer(directory, typeof p.Server === 'string' && p.Server ? p.Server : localServer);
  return { server, thumbprint: typeof p.Thumbprint === 'string' ? p.Thumbprint.trim().toUpperCase() : undefined };
}

export function view(c: EvaluatedCertificate) {
  return toExchangeCertificate(c.record, c.server, { facts: c.status === 'PendingRequest' ? null : c.facts, status: c.status, rootCAType: c.rootCAType }, c.pending?.subject, c.pending?.domainNames);
}

function checkThumbprintSyntax(tp: string) {
  if (!/^[0-9A-F]{40}$/.test(tp)) {
    throw new InterchangeError('ICX_PARAM_INVALID', `The value "${tp}" isn't a valid certificate thumbprint. A thumbprint is 40 hexadecimal digits.`, { parameter: 'Thumbprint' });
  }
}

export function exchangeCertificateCmdlets(store: CertificateStore): CmdletDeclaration[] {
  const get = defineCmdlet({
    name: 'Get-ExchangeCertificate',
    synopsis: 'Lists the certificates in the certificate store of a server.',
    description:
      'Without parameters, lists every certificate of the connected server. -DomainName lists the certificates that cover a name, in the order the transport would select them for STARTTLS: the first one is the one used.',
    parameterSets: ['Thumbprint', 'Identity'],
    defaultParameterSet: 'Thumbprint',
    parameters: [
      thumbprintParam(false),
      identityParam(false),
      serverParam,
      { name: 'DomainName', type: 'String', multiValued: true, description: 'Only certificates whose Subject CN or SAN covers one of these names, in selection order.' },
    ],
    outputType: 'ExchangeCertificate',
    role: 'Exchange Server Certificates',
    changesState: false,
    examples: [
      { code: 'Get-ExchangeCertificate | Format-List FriendlyName,Subject,Issuer,CertificateDomains,Thumbprint,NotBefore,NotAfter', remarks: 'Every certificate of the connected server, with the properties needed to tell an old and a renewed certificate apart.' },
      { code: 'Get-ExchangeCertificate -Server EX02 -DomainName mail.contoso.com', remarks: 'The certificates of EX02 that cover mail.contoso.com, the one STARTTLS would use first.' },
    ],
    async run(ctx, p) {
      const { server, thumbprint } = await target(ctx, p);
      let certs = await store.list(server.name);
      if (thumbprint) {
        certs = certs.filter((c) => c.thumbprint === thumbprint);
        if (!certs.length && typeof p.Identity !== 'string') {
          throw serverSideError('ICX_CERT_NOT_FOUND', server.name, `The certificate with thumbprint ${thumbprint} was not found.`);
        }
      }
      const domains = (p.DomainName as string[] | undefined) ?? [];
      if (domains.length) {
        const ordered: EvaluatedCertificate[] = [];
        for (const d of domains) for (const c of orderForDomain(certs.filter((x) => x.status !== 'PendingRequest'), d)) if (!ordered.includes(c)) ordered.push(c);
        certs = ordered;
      }
      return certs.map(view);
    },
  });

  const newCert = defineCmdlet({
    name: 'New-ExchangeCertificate',
    synopsis: 'Creates a self-signed certificate, or a certificate request for a certification authority.',
    parameterSets: ['Certificate', 'Request'],
    defaultParameterSet: 'Certificate',
    parameters: [
      { name: 'GenerateRequest', type: 'SwitchParameter', sets: ['Request'], mandatory: ['Request'], description: 'Create a PKCS#10 request instead of a self-signed certificate. It is kept as a pending request until Import-ExchangeCertificate completes it.' },
      { name: 'BinaryEncoded', type: 'SwitchParameter', sets: ['Request'], description: 'Return the request DER-encoded instead of Base64.' },
      { name: 'SubjectName', type: 'String', description: 'X.500 subject, CN last as written in Exchange: C=US,O=Contoso,CN=mail.contoso.com or CN first. Default: CN=<ServerName>.' },
      { name: 'DomainName', type: 'String', multiValued: true, description: 'Subject alternative names. Default: the server name and FQDN.' },
      { name: 'IncludeServerFQDN', type: 'SwitchParameter', description: "Add the server's FQDN to the names." },
      { name: 'IncludeServerNetBIOSName', type: 'SwitchParameter', description: "Add the server's name to the names." },
      { name: 'IncludeAutoDiscover', type: 'SwitchParameter', description: 'Add autodiscover.<domain> for each domain name.' },
      { name: 'IncludeAcceptedDomains', type: 'SwitchParameter', description: 'Accepted for compatibility; Interchange has no accepted domains to add.' },
      { name: 'Services', type: 'Flags', values: ALL_SERVICES, sets: ['Certificate'], description: 'Services for a self-signed certificate. Default: IMAP, POP, SMTP.' },
      { name: 'KeySize', type: 'Int32', description: 'RSA key size: 1024, 2048 (default) or 4096.' },
      { name: 'PrivateKeyExportable', type: 'Boolean', description: 'Whether Export-ExchangeCertificate may export the private key. Default $false.' },
      { name: 'FriendlyName', type: 'String', description: 'Default: Microsoft Exchange. Fewer than 64 characters.' },
      { name: 'SubjectKeyIdentifier', type: 'String', description: 'Accepted for compatibility; the identifier is derived from the key.' },
      { name: 'Force', type: 'SwitchParameter', description: 'Make the new SMTP certificate the internal transport certificate without asking.' },
      { name: 'Server', type: 'String', description: 'The server to create the certificate on. Default: the connected server.' },
      {
        name: 'Instance',
        type: 'String',
        valueFromPipeline: true,
        description:
          "The certificate to renew, piped from Get-ExchangeCertificate (or ServerNameOrFQDN\\Thumbprint): the new certificate or request takes its subject, domains, key size, friendly name and exportability, and a self-signed renewal its services too, unless the matching parameter is given.",
      },
    ],
    outputType: 'ExchangeCertificate',
    role: 'Exchange Server Certificates',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [
      { code: 'New-ExchangeCertificate -SubjectName "CN=mail.contoso.com" -DomainName mail.contoso.com,autodiscover.contoso.com -Services SMTP -Force', remarks: 'A self-signed SMTP certificate.' },
      {
        code: "$txtrequest = New-ExchangeCertificate -GenerateRequest -SubjectName \"C=US,O=Contoso,CN=mail.contoso.com\" -DomainName mail.contoso.com,autodiscover.contoso.com; [System.IO.File]::WriteAllBytes('/root/contoso.req', [System.Text.Encoding]::Unicode.GetBytes($txtrequest))",
        remarks: 'A request to send to a certification authority: the output is the Base64 request text, saved here as Exchange documents it (Set-Content -Path /root/contoso.req -Value $txtrequest saves it too).',
      },
      {
        code: "$binrequest = New-ExchangeCertificate -GenerateRequest -BinaryEncoded -SubjectName \"CN=mail.contoso.com\"; [System.IO.File]::WriteAllBytes('/root/contoso.req', $binrequest.FileData)",
        remarks: 'The same request DER-encoded: the output is an object whose FileData holds the bytes.',
      },
      { code: 'Get-ExchangeCertificate -Thumbprint 5113AE0233A72FCCB75D1D5B1E3F4E7C8A7E8B0C | New-ExchangeCertificate -GenerateRequest', remarks: "A renewal request for a certificate issued by a certification authority, with the certificate's subject and domains." },
      { code: 'Get-ExchangeCertificate -Thumbprint 5113AE0233A72FCCB75D1D5B1E3F4E7C8A7E8B0C | New-ExchangeCertificate', remarks: 'Renews a self-signed certificate: same subject, domains and services (IIS included).' },
    ],
    async run(ctx, p) {
      const renewed = p.Instance ? await renewalSource(ctx, store, p) : undefined;
      const server = renewed?.server ?? (await resolveServer(ctx.services.directory, (p.Server as string) ?? ctx.services.localServer));
      const keySize = (p.KeySize as number | undefined) ?? (renewed?.facts.publicKeySize || 2048);
      if (![1024, 2048, 4096].includes(keySize)) {
        throw new InterchangeError('ICX_PARAM_INVALID', `${keySize} is not a valid key size. Valid key sizes are 4096, 2048, and 1024.`, { parameter: 'KeySize' });
      }
      const friendlyName = (p.FriendlyName as string | undefined) ?? renewed?.record.friendlyName ?? 'Microsoft Exchange';
      if (friendlyName.length > 63) throw new InterchangeError('ICX_PARAM_INVALID', 'The friendly name is too long. The maximum allowed length is 63 characters.', { parameter: 'FriendlyName' });
      const renewedSubject = renewed ? (renewed.pending?.subject ?? renewed.facts.subject) : undefined;
      const subjectName = normalizeSubject((p.SubjectName as string | undefined) ?? renewedSubject ?? `CN=${server.name}`);
      const renewedDomains = renewed ? (renewed.pending?.domainNames ?? renewed.facts.certificateDomains) : undefined;
      const domains = certificateDomains(server, subjectName, renewedDomains && p.DomainName === undefined ? { ...p, DomainName: renewedDomains } : p);
      const request = ctx.parameterSetName === 'Request';
      const defaultServices: string[] = renewed && renewed.status !== 'PendingRequest' ? renewed.record.services : ['IMAP', 'POP', 'SMTP'];
      const services = request ? [] : ((p.Services as string[] | undefined) ?? defaultServices).filter((s) => s !== 'None') as ExchangeService[];
      const privateKeyExportable = p.PrivateKeyExportable !== undefined ? !!p.PrivateKeyExportable : !!renewed?.record.privateKeyExportable;
      const message = `${request ? 'Generate Certificate Request' : 'Generate Certificate'}:\tFriendlyName="${friendlyName}",\tSubjectName="${subjectName}",\tDomainName="${domains.join(', ')}",\tServices="${services.join(', ') || 'None'}",\tKeySize="${keySize}"`;
      if (!ctx.shouldProcess(message, server.name)) return;
      const validDays = 5 * 365;
      const replaceInternal = !request && services.includes('SMTP') && (await decideInternalTransport(ctx, store, server, { notAfter: new Date(ctx.services.clock().getTime() + validDays * 86_400_000) }, !!p.Force));
      if (request) {
        const { record, csrPem, csrDer } = await store.createRequest(server.name, { subjectName, domainNames: domains, keySize, friendlyName, privateKeyExportable });
        ctx.objectModified = `${server.name}\\${record.thumbprint}`;
        // Exchange returns the request itself, not a certificate: Base64 text to save or paste, or with -BinaryEncoded an object whose FileData is the DER.
        if (p.BinaryEncoded) return { $type: 'BinaryFileDataObject', Identity: `${server.fqdn}\\${record.thumbprint}`, FileData: { $bytes: csrDer.toString('base64') } };
        return csrPem;
      }
      const record = await store.createSelfSigned(server.name, { subjectName, domainNames: domains, keySize, friendlyName, services, privateKeyExportable, validDays });
      ctx.objectModified = `${server.name}\\${record.thumbprint}`;
      // IIS has one binding per server: enabling moves it from the certificate that had it (a renewal's old one).
      const moved: ExchangeService[] = [...(replaceInternal ? (['SMTP'] as const) : []), ...(services.includes('IIS') ? (['IIS'] as const) : [])];
      if (moved.length) await store.enable(server.name, record.thumbprint, moved, replaceInternal);
      return view(await store.get(server.name, record.thumbprint));
    },
  });

  const importCert = defineCmdlet({
    name: 'Import-ExchangeCertificate',
    synopsis: 'Installs a certificate from a PKCS#12 (PFX) file, a PEM file or a PKCS#7 chain, or completes a pending request.',
    description:
      "As in Exchange, FileData takes a PFX with its private key (and -Password), or a certificate or PKCS#7 chain, Base64 or DER, without one (the issued certificate that completes a pending request). Beyond Exchange, a PEM file holding a certificate and its private key (BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY, BEGIN EC PRIVATE KEY, or BEGIN ENCRYPTED PRIVATE KEY with -Password, as OpenSSL and ACME clients write) is installed with its key too; Exchange would need it converted to a PFX first.",
    parameters: [
      { name: 'FileData', type: 'Byte[]', mandatory: true, description: "The file's bytes: -FileData ([System.IO.File]::ReadAllBytes('mail.pfx'))." },
      { name: 'Password', type: 'SecureString', description: 'The PFX password.' },
      { name: 'PrivateKeyExportable', type: 'Boolean', description: 'Whether the private key may be exported later. Default $false.' },
      { name: 'FriendlyName', type: 'String', description: 'A friendly name of fewer than 64 characters.' },
      { name: 'Server', type: 'String', description: 'The server to install it on. Default: the connected server.' },
    ],
    outputType: 'ExchangeCertificate',
    role: 'Exchange Server Certificates',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [
      {
        code: "Import-ExchangeCertificate -Server EX01 -FileData ([System.IO.File]::ReadAllBytes('/root/mail.pfx')) -Password (ConvertTo-SecureString -String 'P@ssw0rd1' -AsPlainText -Force)",
        remarks: 'Installs a certificate and its private key from a PFX file. It has no services until Enable-ExchangeCertificate assigns some.',
      },
    ],
    async run(ctx, p) {
      const server = await resolveServer(ctx.services.directory, (p.Server as string) ?? ctx.services.localServer);
      const friendlyName = p.FriendlyName as string | undefined;
      if (friendlyName && friendlyName.length > 63) throw new InterchangeError('ICX_PARAM_INVALID', 'The friendly name is too long. The maximum allowed length is 63 characters.', { parameter: 'FriendlyName' });
      if (!ctx.shouldProcess('Importing a certificate from the data provided.', server.name)) return;
      const record = await store
        .importData(server.name, p.FileData as Buffer, {
          password: p.Password as string | undefined,
          friendlyName,
          privateKeyExportable: !!p.PrivateKeyExportable,
        })
        .catch((e: unknown) => {
          throw blameParameter(e);
        });
      ctx.objectModified = `${server.name}\\${record.thumbprint}`;
      return view(await store.get(server.name, record.thumbprint));
    },
  });

  const exportCert = defineCmdlet({
    name: 'Export-ExchangeCertificate',
    synopsis: 'Exports a certificate (with its private key when a password is given) or a pending request.',
    parameterSets: ['Thumbprint', 'Identity'],
    defaultParameterSet: 'Thumbprint',
    parameters: [
      thumbprintParam(true),
      identityParam(true),
      serverParam,
      { name: 'BinaryEncoded', type: 'SwitchParameter', description: 'DER/PFX bytes instead of Base64 text.' },
      { name: 'Password', type: 'SecureString', description: 'Protects the exported private key; without it only the certificate is exported.' },
    ],
    outputType: 'BinaryFileDataObject',
    role: 'Exchange Server Certificates',
    changesState: true,
    confirmImpact: 'Low',
    examples: [
      {
        code: "$b = Export-ExchangeCertificate -Thumbprint 5113AE0233A72FCCB75D1D5B1E3F4E7C8A7E8B0C -BinaryEncoded -Password (ConvertTo-SecureString -String 'P@ssw0rd1' -AsPlainText -Force); [System.IO.File]::WriteAllBytes('/root/mail.pfx', $b.FileData)",
        remarks: 'Exports a certificate with its private key to a PFX file.',
      },
    ],
    async run(ctx, p) {
      const { server, thumbprint } = await target(ctx, p);
      if (!ctx.shouldProcess(`Exporting the certificate with thumbprint ${thumbprint}.`, `${server.name}\\${thumbprint}`)) return;
      const data = await store.exportCertificate(server.name, thumbprint!, { password: p.Password as string | undefined, binaryEncoded: !!p.BinaryEncoded });
      return { $type: 'BinaryFileDataObject', Identity: `${server.fqdn}\\${thumbprint}`, FileData: { $bytes: data.toString('base64') } };
    },
  });

  const enable = defineCmdlet({
    name: 'Enable-ExchangeCertificate',
    synopsis: 'Assigns services to a certificate. Services are added to those it has; they are never removed.',
    parameterSets: ['Thumbprint', 'Identity'],
    defaultParameterSet: 'Thumbprint',
    parameters: [
      thumbprintParam(true),
      identityParam(true),
      serverParam,
      { name: 'Services', type: 'Flags', values: ALL_SERVICES, mandatory: true, description: 'IIS, IMAP, POP, SMTP, UM, UMCallRouter, comma-separated.' },
      { name: 'Force', type: 'SwitchParameter', description: 'Replace the internal transport certificate without asking.' },
      { name: 'DoNotRequireSsl', type: 'SwitchParameter', description: 'Accepted for compatibility (Interchange has no web site to secure).' },
      { name: 'NetworkServiceAllowed', type: 'SwitchParameter', description: 'Accepted for compatibility (the transport always reads the keys it is given).' },
    ],
    role: 'Exchange Server Certificates',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [{ code: 'Enable-ExchangeCertificate -Thumbprint 5113AE0233A72FCCB75D1D5B1E3F4E7C8A7E8B0C -Services SMTP', remarks: 'Lets the transport use the certificate for STARTTLS. Like Exchange, it writes nothing: Get-ExchangeCertificate shows the services.' }],
    async run(ctx, p) {
      const { server, thumbprint } = await target(ctx, p);
      checkThumbprintSyntax(thumbprint!);
      const services = (p.Services as string[]).filter((s) => s !== 'None') as ExchangeService[];
      if (!ctx.shouldProcess(`Enable certificate with thumbprint ${thumbprint}?`, `${server.name}\\${thumbprint}`)) return;
      const cert = await store.get(server.name, thumbprint!);
      const replaceInternal = services.includes('SMTP') && cert.status !== 'PendingRequest' && cert.hasPrivateKey && (await decideInternalTransport(ctx, store, server, { thumbprint, notAfter: cert.facts.notAfter }, !!p.Force));
      await store.enable(server.name, thumbprint!, services, replaceInternal);
      ctx.objectModified = `${server.name}\\${thumbprint}`;
    },
  });

  const remove = defineCmdlet({
    name: 'Remove-ExchangeCertificate',
    synopsis: "Removes a certificate or pending request from a server's certificate store.",
    description:
      'Refused for the internal transport certificate, and for any certificate whose Issuer and Subject are named by the TlsCertificateName of a Send connector of the organization (both an old and a renewed certificate with the same names are protected). Clear or change the connector first, or use Switch-ExchangeCertificate to rotate in one step.',
    parameterSets: ['Thumbprint', 'Identity'],
    defaultParameterSet: 'Thumbprint',
    parameters: [thumbprintParam(true), identityParam(true), serverParam],
    role: 'Exchange Server Certificates',
    changesState: true,
    confirmImpact: 'High',
    examples: [
      { code: 'Remove-ExchangeCertificate -Server EX01 -Thumbprint 5113AE0233A72FCCB75D1D5B1E3F4E7C8A7E8B0C', remarks: 'Removes the certificate from EX01 after confirmation.' },
      { code: 'Get-ExchangeCertificate -Thumbprint 5113AE0233A72FCCB75D1D5B1E3F4E7C8A7E8B0C | Remove-ExchangeCertificate -Confirm:$false', remarks: 'The same through the pipeline, without a prompt.' },
    ],
    async run(ctx, p) {
      const { server, thumbprint } = await target(ctx, p);
      if (!thumbprint) throw new InterchangeError('ICX_PARAM_MISSING', 'Cannot process command because of one or more missing mandatory parameters: Thumbprint.', { parameter: 'Thumbprint' });
      if (!ctx.shouldProcess(`Remove certificate with thumbprint ${thumbprint} from the computer's certificate store?`, `${server.name}\\${thumbprint}`)) return;
      ctx.objectModified = `${server.name}\\${thumbprint}`;
      await store.remove(server.name, thumbprint);
    },
  });

  const rotate = defineCmdlet({
    name: 'Switch-ExchangeCertificate',
    synopsis: 'Rotates a certificate in one step: every Send connector that names it, on every source server, without stopping mail flow.',
    description:
      "Interchange's answer to the renewal problem of Exchange: checks that the new certificate is installed, valid, has a private key and SMTP on every source server of every Send connector whose TlsCertificateName names the old one (or copies it there with -DeployToSourceServers), then in one transaction removes the old certificate from every server and, when the new certificate has another Issuer or Subject (a certificate from another CA, such as one from Request-AcmeCertificate), sets those connectors' TlsCertificateName to name it (and that of every Receive connector that named the old one, for the certificate it presents for STARTTLS); a renewal with the same Issuer and Subject leaves them as they are. If any check fails, nothing changes, and the error names the command that gets past it; -WhatIf runs the same checks, so it shows that refusal before anything changes. Running transports use the new certificate from their next session. -DeployToSourceServers copies the certificate with its private key even when the key is not exportable: PrivateKeyExportable guards export to a file, out of the organization, while every server's keys already live in the organization's store sealed under the organization's key, where the copy stays (with the same PrivateKeyExportable); Exchange's Service Host places its Auth certificate on every server the same way. So a renewed certificate imported on one server without -PrivateKeyExportable $true needs no export and no second import.",
    parameters: [
      { name: 'Thumbprint', type: 'String', position: 0, mandatory: true, description: 'The certificate being replaced.' },
      { name: 'NewThumbprint', type: 'String', position: 1, mandatory: true, description: 'The certificate replacing it.' },
      { name: 'KeepOldCertificate', type: 'SwitchParameter', description: 'Leave the old certificate installed (it stays protected only if a connector still names it).' },
      { name: 'DeployToSourceServers', type: 'SwitchParameter', description: "Copy the new certificate with its key to source servers that lack it or hold it without its key, exportable or not: the key is copied inside the organization's store, never exported." },
    ],
    outputType: 'CertificateRotationStep',
    role: 'Exchange Server Certificates',
    changesState: true,
    confirmImpact: 'High',
    examples: [
      {
        code: 'Switch-ExchangeCertificate -Thumbprint 5113AE0233A72FCCB75D1D5B1E3F4E7C8A7E8B0C -NewThumbprint 0271A7F1CA9AD8A27152CCAE044F968F068B14B8 -WhatIf',
        remarks: 'Shows, per connector and server, what the rotation would do.',
      },
      { code: 'Switch-ExchangeCertificate 5113AE0233A72FCCB75D1D5B1E3F4E7C8A7E8B0C 0271A7F1CA9AD8A27152CCAE044F968F068B14B8 -Confirm:$false', remarks: 'Rotates without a prompt.' },
      {
        code: 'Switch-ExchangeCertificate -Thumbprint 5113AE0233A72FCCB75D1D5B1E3F4E7C8A7E8B0C -NewThumbprint 0271A7F1CA9AD8A27152CCAE044F968F068B14B8 -DeployToSourceServers',
        remarks: 'The renewed certificate was imported on EX01 only, its key not exportable: copies it with its key to EX02 inside the organization, then rotates on both.',
      },
    ],
    async run(ctx, p) {
      const oldTp = String(p.Thumbprint).trim().toUpperCase();
      const newTp = String(p.NewThumbprint).trim().toUpperCase();
      checkThumbprintSyntax(oldTp);
      checkThumbprintSyntax(newTp);
      const opts = { oldThumbprint: oldTp, newThumbprint: newTp, removeOld: !p.KeepOldCertificate, deploy: !!p.DeployToSourceServers };
      const plan = await rotateCertificate(store, ctx.services.directory, { ...opts, apply: false });
      const summary = plan.steps.map((s) => `${s.server}${s.connector ? ` (${s.connector})` : ''}: ${s.deployed ? 'deploy new, ' : ''}TlsCertificateName "${s.tlsCertificateName}"${s.tlsCertificateNameChanged ? ' (new issuer or subject)' : ''}, old certificate ${s.oldCertificate}`).join('; ');
      if (!ctx.shouldProcess(`Replace certificate ${oldTp} with ${newTp}: ${summary || 'no connector or server uses it'}.`, oldTp)) return;
      ctx.objectModified = oldTp;
      const done = await rotateCertificate(store, ctx.services.directory, { ...opts, apply: true });
      return done.steps.map((s) => ({
        $type: 'CertificateRotationStep',
        Connector: s.connector || null,
        ConnectorType: s.connector ? s.connectorType : null,
        Server: s.server,
        OldThumbprint: s.oldThumbprint,
        NewThumbprint: s.newThumbprint,
        TlsCertificateName: s.tlsCertificateName,
        TlsCertificateNameChanged: s.tlsCertificateNameChanged,
        OldCertificate: s.oldCertificate,
        Deployed: s.deployed,
      }));
    },
  });

  const alerts = defineCmdlet({
    name: 'Get-ExchangeCertificateAlert',
    synopsis: 'Lists certificates that need attention: expired, expiring soon, named by a Send connector but missing or unusable on one of its source servers, a rotation left half done, or an ACME renewal that keeps failing.',
    description:
      "What Exchange spreads over event IDs 12014-12018 and the admin center's notification viewer, in one list. A MissingOnSourceServer alert means the transport on that server would answer 454 4.7.5 for the connector. A RotationIncomplete alert means a renewed certificate (same Issuer and Subject, later NotAfter) is on some source servers of a Send connector and not on others, which still use the older one; its Command finishes the rotation.",
    parameters: [
      { name: 'Server', type: 'String', description: 'Only alerts about this server. Default: every server of the organization.' },
      { name: 'ExpiryWarningDays', type: 'Int32', range: [1, 3650], description: 'Warn this many days before expiry. Default 90.' },
    ],
    outputType: 'ExchangeCertificateAlert',
    role: 'Exchange Server Certificates',
    changesState: false,
    examples: [
      { code: 'Get-ExchangeCertificateAlert | Format-List Severity,Server,Message', remarks: 'Everything about certificates that needs attention, organization-wide.' },
      { code: "Get-ExchangeCertificateAlert | Where-Object Kind -eq 'RotationIncomplete' | Format-List Server,Connector,Command", remarks: 'Rotations left half done, with the command that finishes each.' },
    ],
    async run(ctx, p) {
      const servers = p.Server ? [await resolveServer(ctx.services.directory, p.Server as string)] : await ctx.services.directory.listServers();
      const everyServer = await ctx.services.directory.listServers();
      const certs: EvaluatedCertificate[] = [];
      for (const s of everyServer) certs.push(...(await store.list(s.name)));
      const wanted = new Set(servers.map((s) => s.name.toLowerCase()));
      const now = ctx.services.clock();
      const acme = acmeRenewalAlerts((await ctx.services.directory.getOrganization())?.acmeCertificates ?? [], now);
      return [...certificateAlerts(certs, await ctx.services.directory.listSendConnectors(), now, (p.ExpiryWarningDays as number | undefined) ?? EXPIRY_WARNING_DAYS), ...acme]
        .filter((a) => wanted.has(a.server.toLowerCase()))
        .map((a) => ({ $type: 'ExchangeCertificateAlert', Severity: a.severity, Kind: a.kind, Server: a.server, Thumbprint: a.thumbprint, NewThumbprint: a.newThumbprint, Connector: a.connector, NotAfter: a.notAfter, Message: a.message, Command: a.command }));
    },
  });

  return [get, newCert, importCert, exportCert, enable, remove, rotate, alerts];
}

/**
 * Names the parameter an import failure is about, so a form can show the
 * error beside the field (a wrong password beside Password, unreadable data
 * beside FileData). The message is kept as it is.
 */
function blameParameter(e: unknown): unknown {
  if (!(e instanceof InterchangeError) || e.parameter) return e;
  const parameter = e.code === 'ICX_CERT_WRONG_PASSWORD' ? 'Password' : e.code === 'ICX_CERT_DATA_CORRUPT' ? 'FileData' : undefined;
  return parameter ? new InterchangeError(e.code, e.message, { parameter, cause: e, details: e.details }) : e;
}

/**
 * The "Overwrite the existing default SMTP certificate?" decision of
 * New-/Enable-ExchangeCertificate, asked before anything changes: the caller
 * answers by invoking again with `answers`, and a question asked after the
 * change would make New-ExchangeCertificate create a second certificate.
 * Before creation the new thumbprint is unknown, so the prompt names the
 * certificate by its expiry only.
 */
async function decideInternalTransport(ctx: CmdletContext, store: CertificateStore, server: ServerRecord, incoming: { thumbprint?: string; notAfter: Date }, force: boolean): Promise<boolean> {
  const current = (await ctx.services.directory.getServer(server.name))?.internalTransportCertificateThumbprint;
  if (incoming.thumbprint && current?.toUpperCase() === incoming.thumbprint.toUpperCase()) return false;
  if (force || !current) return true;
  const old = (await store.list(server.name)).find((c) => c.thumbprint === current);
  if (!old) return true;
  const query = `Overwrite the existing default SMTP certificate?\n\nCurrent certificate: '${old.thumbprint}' (expires ${formatCultureDateTime(old.facts.notAfter)})\nReplace it with certificate: '${incoming.thumbprint ?? 'the new certificate'}' (expires ${formatCultureDateTime(incoming.notAfter)})`;
  return ctx.shouldContinue('OverwriteDefaultSmtpCertificate', query);
}

/**
 * The certificate -Instance names, for a renewal: a piped ExchangeCertificate
 * arrives as its Identity (ServerFQDN\\Thumbprint); a bare thumbprint is looked
 * up on -Server or the connected server.
 */
async function renewalSource(ctx: CmdletContext, store: CertificateStore, p: Record<string, unknown>): Promise<EvaluatedCertificate> {
  const text = String(p.Instance).trim();
  const slash = text.lastIndexOf('\\');
  const server = await resolveServer(ctx.services.directory, slash >= 0 ? text.slice(0, slash) : ((p.Server as string) ?? ctx.services.localServer));
  const thumbprint = (slash >= 0 ? text.slice(slash + 1) : text).toUpperCase();
  return store.get(server.name, thumbprint);
}

function normalizeSubject(text: string): string {
  const attrs = parseX500Name(text);
  // Exchange documents SubjectName with CN last (C=US,O=Contoso,CN=mail); the rendered form puts CN first.
  const ordered = attrs[attrs.length - 1]?.type.toUpperCase() === 'CN' && attrs.length > 1 && attrs[0].type.toUpperCase() !== 'CN' ? [...attrs].reverse() : attrs;
  return normalizeX500Name(ordered.map((a) => `${a.type}=${/[,+"\\<>;=#]/.test(a.value) ? `"${a.value.replace(/"/g, '""')}"` : a.value}`).join(', '));
}

function certificateDomains(server: ServerRecord, subject: string, p: Record<string, unknown>): string[] {
  const names: string[] = [];
  const add = (n: string) => {
    if (n && !names.some((x) => x.toLowerCase() === n.toLowerCase())) names.push(n);
  };
  const cn = parseX500Name(subject).find((a) => a.type.toUpperCase() === 'CN')?.value;
  if (cn && /^[*a-z0-9.-]+$/i.test(cn)) add(cn);
  const given = (p.DomainName as string[] | undefined) ?? [];
  for (const d of given) {
    if (!/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(d) || d.length > 255) {
      throw new InterchangeError('ICX_PARAM_INVALID', `Domain name ${d} is not valid for a certificate.`, { parameter: 'DomainName' });
    }
    add(d);
  }
  const anyInclude = p.IncludeServerFQDN || p.IncludeServerNetBIOSName || p.IncludeAutoDiscover || p.IncludeAcceptedDomains;
  if (!given.length && !anyInclude) {
    add(server.name);
    add(server.fqdn);
  }
  if (p.IncludeServerFQDN) add(server.fqdn);
  if (p.IncludeServerNetBIOSName) add(server.name);
  if (p.IncludeAutoDiscover) for (const d of [...names]) if (d.includes('.') && !d.startsWith('*')) add(`autodiscover.${d.split('.').slice(1).join('.')}`);
  if (!names.length) {
    throw new InterchangeError('ICX_PARAM_INVALID', 'You must specify at least one valid fully qualified domain name (FQDN) for either the Subject or the DomainName parameter.', { parameter: 'DomainName' });
  }
  return names;
}
