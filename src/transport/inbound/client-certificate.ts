// Validation of a TLS client's certificate for domain security: the chain to a
// root this server trusts (its installed trusted roots and the platform's),
// each certificate within its validity, and the partner domain among the
// leaf's names. Node checks client chains only against the server context's
// CAs, which carry no roots (a Receive connector asks for a certificate, it
// does not require one); so the check is done here, when a sender needs it.
import type { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import { BoundedMap } from '../../security/bounded-map.js';

const MAX_DEPTH = 8;

/**
 * The chains clients presented in full handshakes, by leaf: a resumed TLS session keeps only the leaf,
 * and a partner's sender must validate the same whether its connection resumed or not. Only candidates:
 * clientCertificateProblem still checks every signature. The oldest forgotten first.
 */
const presented = new BoundedMap<string, Buffer[]>(1000);

/**
 * The chain a TLS client presented, leaf first, as DER. A full handshake's chain is remembered for the
 * sessions that resume it; a resumed session shows only its leaf, and gets the chain remembered for it.
 */
export function presentedChain(socket: tls.TLSSocket): Buffer[] {
  const linked = linkedChain(socket);
  const raw = linked.map((c) => c.raw);
  if (linked.length === 0) return raw;
  if (!socket.isSessionReused()) {
    if (raw.length > 1) presented.set(linked[0].fingerprint256, raw);
    return raw;
  }
  return raw.length === 1 ? (presented.get(linked[0].fingerprint256) ?? raw) : raw;
}

/** The certificates as Node links them (issuerCertificate, ending in a self-reference). */
function linkedChain(socket: tls.TLSSocket): tls.DetailedPeerCertificate[] {
  const out: tls.DetailedPeerCertificate[] = [];
  let c = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined;
  const seen = new Set<string>();
  while (c && c.raw && !seen.has(c.fingerprint256) && out.length < MAX_DEPTH) {
    seen.add(c.fingerprint256);
    out.push(c);
    c = c.issuerCertificate;
  }
  return out;
}

const issuedBy = (child: X509Certificate, parent: X509Certificate) => child.checkIssued(parent) && child.verify(parent.publicKey);

/** Why `chain` (leaf first) does not validate for `domain` against `roots` at `now`; undefined when it does. */
export function clientCertificateProblem(chain: readonly X509Certificate[], roots: readonly X509Certificate[], domain: string, now: Date): string | undefined {
  const leaf = chain[0];
  if (!leaf) return 'no client certificate was presented in TLS';
  let current = leaf;
  const path = [leaf];
  for (let depth = 0; ; depth++) {
    if (roots.some((r) => r.fingerprint256 === current.fingerprint256)) break;
    const root = roots.find((r) => issuedBy(current, r));
    if (root) {
      path.push(root);
      break;
    }
    const next = chain.find((p) => p !== current && !path.includes(p) && issuedBy(current, p));
    if (!next || depth >= MAX_DEPTH) return `the client certificate ${leaf.subject.replace(/\n/g, ', ')} does not chain to a root this server trusts`;
    path.push(next);
    current = next;
  }
  for (const c of path) {
    if (now.getTime() < Date.parse(c.validFrom) || now.getTime() > Date.parse(c.validTo)) return `the certificate ${c.subject.replace(/\n/g, ', ')} is not valid now (${c.validFrom} to ${c.validTo})`;
  }
  if (leaf.checkHost(domain, { subject: 'default', wildcards: true }) === undefined) return `the client certificate does not name ${domain}`;
  return undefined;
}
