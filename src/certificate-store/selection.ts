import type { CertificateFacts } from '../certificates/certificate-facts.js';
import type { CertificateStatus } from '../certificates/status.js';
import { identifierMatches, type SmtpX509Identifier } from '../connectors/smtp-x509-identifier.js';
import type { ExchangeService } from '../directory/records.js';

/** What the selection rules need to know about an installed certificate. */
export interface SelectableCertificate {
  thumbprint: string;
  facts: CertificateFacts;
  status: CertificateStatus;
  hasPrivateKey: boolean;
  services: readonly ExchangeService[];
}

/** Exact host names match; `*.contoso.com` matches one label below contoso.com. */
export function certificateCoversDomain(domains: readonly string[], fqdn: string): 'exact' | 'wildcard' | null {
  const name = fqdn.toLowerCase();
  if (domains.some((d) => d.toLowerCase() === name)) return 'exact';
  const dot = name.indexOf('.');
  if (dot > 0 && domains.some((d) => d.toLowerCase() === '*' + name.slice(dot))) return 'wildcard';
  return null;
}

const newestFirst = (a: SelectableCertificate, b: SelectableCertificate) => b.facts.notBefore.getTime() - a.facts.notBefore.getTime();

/**
 * Certificates for an FQDN in the order Exchange would use them (reference
 * §3.5, "Selection of Inbound STARTTLS Certificates"): exact names before
 * wildcards; within each, valid CA-issued certificates newest first, then
 * valid self-signed ones newest first, then the rest. This is also the order
 * Get-ExchangeCertificate -DomainName lists.
 */
export function orderForDomain<T extends SelectableCertificate>(certs: readonly T[], fqdn: string): T[] {
  const rank = (c: T): number => {
    const match = certificateCoversDomain(c.facts.certificateDomains, fqdn);
    const usable = c.status === 'Valid' && c.hasPrivateKey;
    const kind = usable ? (c.facts.isSelfSigned ? 1 : 0) : 2;
    return (match === 'exact' ? 0 : 3) + kind;
  };
  return certs
    .filter((c) => certificateCoversDomain(c.facts.certificateDomains, fqdn) !== null)
    .sort((a, b) => rank(a) - rank(b) || newestFirst(a, b));
}

/**
 * The STARTTLS certificate for an FQDN: the first one with a key in Exchange's
 * order. An expired certificate is still offered when nothing better exists,
 * as Exchange does (it logs event 12016 instead of dropping STARTTLS).
 */
export function selectCertificateForDomain<T extends SelectableCertificate>(certs: readonly T[], fqdn: string): T | undefined {
  return orderForDomain(certs, fqdn).find((c) => c.hasPrivateKey);
}

/**
 * The certificate a connector's TlsCertificateName selects: among valid
 * matches that have a private key, the newest. Exchange takes the first in
 * store order, which makes the result depend on installation history; the
 * newest valid one is what an administrator who just renewed expects.
 */
export function selectCertificateByName<T extends SelectableCertificate>(certs: readonly T[], id: SmtpX509Identifier): T | undefined {
  return certs
    .filter((c) => c.hasPrivateKey && c.status === 'Valid' && identifierMatches(id, c.facts))
    .sort(newestFirst)[0];
}

/** Every certificate the identifier names, whatever its state: what the removal guard protects. */
export function certificatesNamedBy<T extends SelectableCertificate>(certs: readonly T[], id: SmtpX509Identifier): T[] {
  return certs.filter((c) => identifierMatches(id, c.facts));
}
