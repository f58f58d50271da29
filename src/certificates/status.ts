import { rootCertificates } from 'node:tls';
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { ANY_EKU, SERVER_AUTH_EKU, readCertificateFacts, type CertificateFacts } from './certificate-facts.js';

/**
 * Exchange's Status and RootCAType of a certificate (reference §1.5): a chain is
 * built for server authentication with signature checks, then classified by
 * which root store holds its root. Pure: the clock and the stores are inputs.
 */

export type CertificateStatus = 'DateInvalid' | 'Invalid' | 'PendingRequest' | 'RevocationCheckFailure' | 'Revoked' | 'Unknown' | 'Untrusted' | 'Valid';
export type RootCAType = 'None' | 'ThirdParty' | 'Enterprise' | 'Registry' | 'GroupPolicy' | 'Unknown';

export interface StatusContext {
  now: Date;
  /** Intermediate CA certificates available for chain building (DER). */
  intermediates: Buffer[];
  /** Roots installed on the server: Exchange's "Registry" (local machine) root store. */
  registryRoots: Buffer[];
  /** Roots shipped with the platform, e.g. loadSystemRoots(). */
  thirdPartyRoots: readonly Buffer[];
}

export interface StatusResult {
  status: CertificateStatus;
  rootCAType: RootCAType;
  /** DER, leaf first, as far as it could be built. */
  chain: Buffer[];
}

interface Candidate {
  facts: CertificateFacts;
  node: NodeX509Certificate;
  store: 'registry' | 'thirdParty' | 'intermediate';
}

const MAX_DEPTH = 10;

function load(der: Buffer, store: Candidate['store']): Candidate | undefined {
  try {
    return { facts: readCertificateFacts(der), node: new NodeX509Certificate(der), store };
  } catch {
    // An unreadable certificate in a store cannot anchor or extend a chain.
    return undefined;
  }
}

function signedBy(child: NodeX509Certificate, issuer: NodeX509Certificate): boolean {
  try {
    return child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function keyIdsCompatible(child: CertificateFacts, issuer: CertificateFacts): boolean {
  return !child.authorityKeyIdentifier || !issuer.subjectKeyIdentifier || child.authorityKeyIdentifier === issuer.subjectKeyIdentifier;
}

function timeValid(facts: CertificateFacts, now: Date): boolean {
  return facts.notBefore.getTime() <= now.getTime() && now.getTime() <= facts.notAfter.getTime();
}

function serverAuthAllowed(facts: CertificateFacts): boolean {
  if (facts.enhancedKeyUsageList.length === 0) return true;
  return facts.enhancedKeyUsageList.some((e) => e.endsWith(`(${SERVER_AUTH_EKU})`) || e.endsWith(`(${ANY_EKU})`) || e === SERVER_AUTH_EKU || e === ANY_EKU);
}

function rootType(top: Candidate, registry: StoreIndex, thirdParty: StoreIndex): RootCAType | undefined {
  // A root counts as installed when a store holds the same certificate or the same
  // name with the same key (a re-issued root).
  const same = (c: Candidate) => c.facts.der.equals(top.facts.der) || c.facts.publicKeySpki.equals(top.facts.publicKeySpki);
  if (registry.withSubject(top.facts.subjectDer).some(same)) return 'Registry';
  if (thirdParty.withSubject(top.facts.subjectDer).some(same)) return 'ThirdParty';
  return undefined;
}

/**
 * Certificates of one store, parsed only when their subject could match: the
 * system store has well over a hundred roots and most evaluations touch none.
 */
class StoreIndex {
  private readonly loaded = new Map<Buffer, Candidate | undefined>();
  constructor(
    private readonly ders: readonly Buffer[],
    private readonly store: Candidate['store'],
  ) {}

  withSubject(subjectDer: Buffer): Candidate[] {
    const out: Candidate[] = [];
    for (const der of this.ders) {
      // A certificate's subject encoding is a substring of its DER: a cheap, exact pre-filter.
      if (der.indexOf(subjectDer) < 0) continue;
      if (!this.loaded.has(der)) this.loaded.set(der, load(der, this.store));
      const c = this.loaded.get(der);
      if (c && c.facts.subjectDer.equals(subjectDer)) out.push(c);
    }
    return out;
  }
}

export function evaluateCertificateStatus(leafDer: Buffer, ctx: StatusContext): StatusResult {
  const leaf = load(leafDer, 'intermediate');
  if (!leaf) return { status: 'Invalid', rootCAType: 'Unknown', chain: [leafDer] };

  const registry = new StoreIndex(ctx.registryRoots, 'registry');
  const thirdParty = new StoreIndex(ctx.thirdPartyRoots, 'thirdParty');
  const intermediates = new StoreIndex(ctx.intermediates, 'intermediate');

  const chain: Candidate[] = [leaf];
  let badSignature = false;
  let complete = false;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const current = chain[chain.length - 1];
    if (current.facts.subjectDer.equals(current.facts.issuerDer)) {
      if (signedBy(current.node, current.node)) complete = true;
      else badSignature = true;
      break;
    }
    // Trusted roots first, so a chain ends at an installed root when one exists.
    const named = [registry, thirdParty, intermediates]
      .flatMap((s) => s.withSubject(current.facts.issuerDer))
      .filter((c) => keyIdsCompatible(current.facts, c.facts) && !chain.some((x) => x.facts.thumbprint === c.facts.thumbprint));
    const issuer = named.find((c) => signedBy(current.node, c.node));
    if (!issuer) {
      if (named.length > 0) badSignature = true;
      break;
    }
    chain.push(issuer);
  }

  const chainDer = chain.map((c) => c.facts.der);
  if (badSignature) return { status: 'Invalid', rootCAType: 'Unknown', chain: chainDer };
  if (!serverAuthAllowed(leaf.facts)) return { status: 'Invalid', rootCAType: 'Unknown', chain: chainDer };
  // Every issuer must be a CA; old v1 roots have no extensions to say so.
  if (chain.slice(1).some((c) => !c.facts.isCertificateAuthority && c.facts.version >= 3)) {
    return { status: 'Invalid', rootCAType: 'Unknown', chain: chainDer };
  }

  const top = chain[chain.length - 1];
  const trusted = complete ? rootType(top, registry, thirdParty) : undefined;
  let rootCAType: RootCAType;
  if (trusted) rootCAType = trusted;
  else if (complete && chain.length === 1) rootCAType = 'None';
  else return { status: 'Untrusted', rootCAType: 'Unknown', chain: chainDer };

  if (chain.some((c) => !timeValid(c.facts, ctx.now))) return { status: 'DateInvalid', rootCAType, chain: chainDer };
  return { status: 'Valid', rootCAType, chain: chainDer };
}

let systemRoots: readonly Buffer[] | undefined;

/** DER of the platform's root certificates (Node's bundled Mozilla store), decoded once per process and shared. */
export function loadSystemRoots(): readonly Buffer[] {
  systemRoots ??= Object.freeze(rootCertificates.map((pem) => Buffer.from(pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''), 'base64')));
  return systemRoots;
}
