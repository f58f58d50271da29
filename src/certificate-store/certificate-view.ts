import type { CertificateFacts } from '../certificates/certificate-facts.js';
import type { CertificateStatus, RootCAType } from '../certificates/status.js';
import type { CertificateRecord, ExchangeService } from '../directory/records.js';

/** ServicesStringForm positions (reference §1.3). */
const SERVICE_LETTERS: Array<[ExchangeService, string]> = [
  ['IMAP', 'I'],
  ['POP', 'P'],
  ['UM', 'U'],
  ['IIS', 'W'],
  ['SMTP', 'S'],
  ['Federation', 'F'],
  ['UMCallRouter', 'C'],
];

/** Exchange renders AllowedServices flags in this order, comma-separated. */
const SERVICE_ORDER: ExchangeService[] = ['Federation', 'IMAP', 'POP', 'UM', 'IIS', 'SMTP', 'UMCallRouter'];

export function servicesStringForm(services: readonly ExchangeService[]): string {
  return SERVICE_LETTERS.map(([s, letter]) => (services.includes(s) ? letter : '.')).join('');
}

export function formatServices(services: readonly ExchangeService[]): string {
  const sorted = SERVICE_ORDER.filter((s) => services.includes(s));
  return sorted.length ? sorted.join(', ') : 'None';
}

export interface CertificateEvaluation {
  facts: CertificateFacts | null;
  status: CertificateStatus;
  rootCAType: RootCAType;
}

/**
 * A certificate domain as Exchange's SmtpDomainWithSubdomains: `*.contoso.com`
 * is the domain contoso.com with its subdomains. Its text (Address) is what
 * tables, lists and comparisons show.
 */
export function smtpDomainWithSubdomains(name: string) {
  const isStar = name === '*';
  const includeSubDomains = isStar || name.startsWith('*.');
  const domain = isStar ? null : includeSubDomains ? name.slice(2) : name;
  return { $type: 'SmtpDomainWithSubdomains', IsStar: isStar, IncludeSubDomains: includeSubDomains, Address: name, Domain: domain, SmtpDomain: domain };
}

/**
 * The private key's access rules as Exchange sets them: the local system and
 * administrators have full control, and NETWORK SERVICE (which runs the POP,
 * IMAP and transport services) may read a key used by one of them.
 */
function accessRules(record: CertificateRecord) {
  if (!record.privateKey) return [];
  const rule = (identity: string, rights: string) => ({
    $type: 'System.Security.AccessControl.CryptoKeyAccessRule',
    CryptoKeyRights: rights,
    AccessControlType: 'Allow',
    IdentityReference: identity,
    IsInherited: false,
    InheritanceFlags: 'None',
    PropagationFlags: 'None',
  });
  const rules = [rule('NT AUTHORITY\\SYSTEM', 'FullControl'), rule('BUILTIN\\Administrators', 'FullControl')];
  if (record.services.some((s) => s === 'SMTP' || s === 'POP' || s === 'IMAP')) rules.push(rule('NT AUTHORITY\\NETWORK SERVICE', 'GenericRead'));
  return rules;
}

/** .NET's class for each extension it decodes; the rest are plain X509Extension (their ToString() is the class name). */
export const EXTENSION_CLASSES: Record<string, string> = {
  '2.5.29.15': 'X509KeyUsageExtension',
  '2.5.29.37': 'X509EnhancedKeyUsageExtension',
  '2.5.29.19': 'X509BasicConstraintsExtension',
  '2.5.29.14': 'X509SubjectKeyIdentifierExtension',
};

const EXTENSION_NAMES: Record<string, string> = {
  '2.5.29.14': 'Subject Key Identifier',
  '2.5.29.15': 'Key Usage',
  '2.5.29.17': 'Subject Alternative Name',
  '2.5.29.19': 'Basic Constraints',
  '2.5.29.31': 'CRL Distribution Points',
  '2.5.29.32': 'Certificate Policies',
  '2.5.29.35': 'Authority Key Identifier',
  '2.5.29.37': 'Enhanced Key Usage',
  '1.3.6.1.5.5.7.1.1': 'Authority Information Access',
};

function extensionObject(e: { oid: string; critical: boolean }) {
  return { $type: `System.Security.Cryptography.X509Certificates.${EXTENSION_CLASSES[e.oid] ?? 'X509Extension'}`, Critical: e.critical, Oid: e.oid, OidFriendlyName: EXTENSION_NAMES[e.oid] ?? null };
}

/** The ExchangeCertificate object as Get-ExchangeCertificate returns it (reference §1.2), its properties in the order of Exchange's Format-List *. */
export function toExchangeCertificate(record: CertificateRecord, server: { name: string; fqdn: string }, ev: CertificateEvaluation, pendingSubject?: string, pendingDomains?: string[]) {
  const f = ev.facts;
  return {
    $type: 'ExchangeCertificate',
    AccessRules: accessRules(record),
    CertificateDomains: (f?.certificateDomains ?? pendingDomains ?? []).map(smtpDomainWithSubdomains),
    HasPrivateKey: record.privateKey !== null,
    IsSelfSigned: f?.isSelfSigned ?? false,
    Issuer: f?.issuer ?? pendingSubject ?? '',
    NotAfter: f?.notAfter ?? null,
    NotBefore: f?.notBefore ?? null,
    PublicKeySize: f?.publicKeySize ?? null,
    RootCAType: ev.rootCAType,
    SerialNumber: f?.serialNumber ?? '',
    Services: formatServices(record.services),
    Status: ev.status,
    Subject: f?.subject ?? pendingSubject ?? '',
    Thumbprint: record.thumbprint,
    CertificateRequest: record.der === null && record.requestDer ? toPemText(record.requestDer, 'NEW CERTIFICATE REQUEST') : null,
    IISServices: record.services.includes('IIS') ? [`IIS://${server.name}/W3SVC/1`] : [],
    Identity: `${server.fqdn}\\${record.thumbprint}`,
    KeyIdentifier: f?.subjectKeyIdentifier ?? null,
    PrivateKeyExportable: record.privateKeyExportable,
    ServicesStringForm: servicesStringForm(record.services),
    Archived: false,
    DnsNameList: f?.dnsNames ?? pendingDomains ?? [],
    EnhancedKeyUsageList: f?.enhancedKeyUsageList ?? [],
    Extensions: (f?.extensions ?? []).map(extensionObject),
    FriendlyName: record.friendlyName,
    SendAsTrustedIssuer: false,
    SignatureAlgorithm: f?.signatureAlgorithm ?? null,
    SubjectKeyIdentifier: f?.subjectKeyIdentifier ?? null,
    Version: f?.version ?? null,
    // Interchange's own, after Exchange's.
    Server: server.name,
    IsCertificateAuthority: f?.isCertificateAuthority ?? false,
  };
}

export type ExchangeCertificateObject = ReturnType<typeof toExchangeCertificate>;

function toPemText(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}
