// What TlsAuthLevel demands of the remote certificate (reference §3.2):
// EncryptionOnly accepts any; CertificateValidation needs a chain to a root
// this server trusts; DomainValidation also needs TlsDomain (else the
// recipient domain) among the certificate's names.
import tls from 'node:tls';
import type { SendConnectorRecord } from '../../directory/records.js';

/** What the TLS handshake showed of the next hop (for a resumed session, what its first handshake showed). */
export interface RemoteCertificate {
  /** The chain validated against the roots this server trusts. */
  authorized: boolean;
  authorizationError?: Error | string;
  certificate: tls.PeerCertificate;
}

/** Undefined when the certificate satisfies the connector; otherwise the LastError text. */
export function checkRemoteCertificate(record: Pick<SendConnectorRecord, 'tlsAuthLevel' | 'tlsDomain' | 'name'>, remote: RemoteCertificate, fallbackDomain: string): string | undefined {
  const level = record.tlsAuthLevel;
  if (!level || level === 'EncryptionOnly') return undefined;
  if (!remote.authorized) {
    return `454 4.7.5 The remote certificate failed validation for Send connector ${record.name} (TlsAuthLevel ${level}): ${String(remote.authorizationError ?? 'unknown error')}`;
  }
  if (level === 'DomainValidation') {
    const domain = record.tlsDomain ?? fallbackDomain;
    return domainMismatch(remote.certificate, domain, record.name);
  }
  return undefined;
}

/** TlsDomain may be `*.contoso.com` (any name under it) or an exact host name. */
export function domainMismatch(cert: tls.PeerCertificate, domain: string, connectorName: string): string | undefined {
  const wanted = domain.toLowerCase();
  if (wanted.startsWith('*.')) {
    const base = wanted.slice(2);
    const names = certificateNames(cert);
    if (names.some((n) => n === wanted || n.endsWith('.' + base))) return undefined;
  } else if (tls.checkServerIdentity(wanted, cert) === undefined) {
    return undefined;
  }
  return `454 4.7.5 The remote certificate does not match the TLS domain ${domain} of Send connector ${connectorName}`;
}

function certificateNames(cert: tls.PeerCertificate): string[] {
  const names = (cert.subjectaltname ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  const cn = cert.subject?.CN;
  if (typeof cn === 'string') names.push(cn.toLowerCase());
  return names;
}
