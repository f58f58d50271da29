// A certificate from the store turned into what Node's TLS stack and the
// protocol log need. Built once per configuration snapshot, never patched.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { CertificateReader, EvaluatedCertificate } from '../../certificate-store/certificate-store.js';
import { derToPem, privateKeyToPem } from '../../certificates/keys.js';
import type { CertificateLogFacts } from '../protocol-log/index.js';

export interface TlsMaterial {
  thumbprint: string;
  /** Leaf then chain, PEM. */
  certPem: string;
  keyPem: string;
  /** For the server side: a context made once and shared by every session. */
  secureContext: tls.SecureContext;
  logFacts: CertificateLogFacts;
  certificate: EvaluatedCertificate;
}

export function certificateLogFacts(c: EvaluatedCertificate): CertificateLogFacts {
  return {
    subject: c.facts.subject,
    issuer: c.facts.issuer,
    serialNumber: c.facts.serialNumber,
    thumbprint: c.thumbprint,
    notBefore: c.facts.notBefore,
    notAfter: c.facts.notAfter,
    certificateDomains: c.facts.certificateDomains,
  };
}

/** Undefined when the key cannot be opened: the certificate is then unusable for TLS, as in Exchange. */
export function buildTlsMaterial(store: CertificateReader, c: EvaluatedCertificate): TlsMaterial | undefined {
  const key = store.privateKey(c.record);
  if (!key || !c.record.der) return undefined;
  try {
    const certPem = [c.record.der, ...c.record.chain.filter((d) => !isSelfSignedRoot(d))].map((d) => derToPem(d, 'CERTIFICATE')).join('');
    const keyPem = privateKeyToPem(key);
    return { thumbprint: c.thumbprint, certPem, keyPem, secureContext: tls.createSecureContext({ cert: certPem, key: keyPem }), logFacts: certificateLogFacts(c), certificate: c };
  } catch {
    return undefined;
  }
}

// Roots are not sent in a handshake (the peer must already trust them); intermediates are.
function isSelfSignedRoot(der: Buffer): boolean {
  try {
    const x = new X509Certificate(der);
    return x.issuer === x.subject;
  } catch {
    return false;
  }
}
