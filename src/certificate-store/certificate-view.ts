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

/** The ExchangeCertificate object as Get-ExchangeCertificate returns it (reference §1.2). */
export function toExchangeCertificate(record: CertificateRecord, server: { name: string; fqdn: string }, ev: CertificateEvaluation, pendingSubject?: string, pendingDomains?: string[]) {
  const f = ev.facts;
  return {
    $type: 'ExchangeCertificate',
    Identity: `${server.fqdn}\\${record.thumbprint}`,
    Server: server.name,
    Thumbprint: record.thumbprint,
    Services: formatServices(record.services),
    ServicesStringForm: servicesStringForm(record.services),
    Subject: f?.subject ?? pendingSubject ?? '',
    Issuer: f?.issuer ?? pendingSubject ?? '',
    FriendlyName: record.friendlyName,
    CertificateDomains: f?.certificateDomains ?? pendingDomains ?? [],
    HasPrivateKey: record.privateKey !== null,
    IsSelfSigned: f?.isSelfSigned ?? false,
    NotAfter: f?.notAfter ?? null,
    NotBefore: f?.notBefore ?? null,
    PublicKeySize: f?.publicKeySize ?? null,
    RootCAType: ev.rootCAType,
    SerialNumber: f?.serialNumber ?? '',
    Status: ev.status,
    PrivateKeyExportable: record.privateKeyExportable,
    EnhancedKeyUsageList: f?.enhancedKeyUsageList ?? [],
    SignatureAlgorithm: f?.signatureAlgorithm ?? null,
    Version: f?.version ?? null,
    SubjectKeyIdentifier: f?.subjectKeyIdentifier ?? null,
    IsCertificateAuthority: f?.isCertificateAuthority ?? false,
    CertificateRequest: record.der === null && record.requestDer ? toPemText(record.requestDer, 'NEW CERTIFICATE REQUEST') : null,
  };
}

export type ExchangeCertificateObject = ReturnType<typeof toExchangeCertificate>;

function toPemText(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}
