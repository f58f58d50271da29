// A certificate from the store turned into what Node's TLS stack and the
// protocol log need. Built once per certificate and kept across configuration
// snapshots while the certificate stays the same (TlsContextCache), never patched.
import { createHash, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { CertificateReader, EvaluatedCertificate } from '../../certificate-store/certificate-store.js';
import { derToPem, privateKeyToPem } from '../../certificates/keys.js';
import type { TrustedRootRecord } from '../../directory/records.js';
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

/**
 * Receive connectors ask for a client certificate, and OpenSSL then refuses to resume a session whose
 * context it was not told (a TLS alert 80, internal error, at every client that keeps sessions, as
 * Debian's Postfix does by default): the context names the service the sessions belong to.
 */
const SESSION_ID_CONTEXT = 'interchange-smtp';

/** Undefined when the key cannot be opened: the certificate is then unusable for TLS, as in Exchange. */
export function buildTlsMaterial(store: CertificateReader, c: EvaluatedCertificate): TlsMaterial | undefined {
  const key = store.privateKey(c.record);
  if (!key || !c.record.der) return undefined;
  try {
    const certPem = [c.record.der, ...c.record.chain.filter((d) => !isSelfSignedRoot(d))].map((d) => derToPem(d, 'CERTIFICATE')).join('');
    const keyPem = privateKeyToPem(key);
    return { thumbprint: c.thumbprint, certPem, keyPem, secureContext: tls.createSecureContext({ cert: certPem, key: keyPem, sessionIdContext: SESSION_ID_CONTEXT }), logFacts: certificateLogFacts(c), certificate: c };
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

/**
 * Everything about a certificate that its TlsMaterial depends on: a new
 * status, service, key or chain under the same thumbprint makes new material.
 */
export function materialFingerprint(c: EvaluatedCertificate): string {
  const r = c.record;
  const key = r.privateKey ? createHash('sha1').update(JSON.stringify(r.privateKey)).digest('hex') : '-';
  const chain = r.chain.map((d) => createHash('sha1').update(d).digest('hex')).join(',');
  return `${c.thumbprint}|${c.status}|${c.rootCAType}|${c.services.join(',')}|${key}|${chain}`;
}

/** The CAs a client context trusts beyond the platform's: the server's installed roots, by thumbprint. */
export function trustedRootsKey(roots: readonly Pick<TrustedRootRecord, 'thumbprint'>[]): string {
  return roots.map((r) => r.thumbprint).sort().join(',');
}

/** Which client context a Send connector uses: its certificate (or none) and the roots it trusts. */
export function clientContextKey(thumbprint: string | undefined, rootsKey: string): string {
  return `${thumbprint ?? '-'}|${rootsKey}`;
}

/**
 * TLS material and client secure contexts shared by every connector and
 * every snapshot: one per certificate, not one per connector (a context that
 * trusts the system store holds its own copy of ~140 parsed roots, ~24 ms and
 * megabytes each). A build marks what it uses (use); commit drops the rest,
 * so removed certificates and connectors give their memory back.
 */
export class TlsContextCache {
  private readonly materials = new Map<string, { fingerprint: string; material: TlsMaterial | undefined }>();
  private readonly clients = new Map<string, tls.SecureContext>();
  /** A build hands the same evaluated certificate for every connector that selects it: fingerprint it once. */
  private readonly fingerprints = new WeakMap<EvaluatedCertificate, string>();
  private usedMaterials = new Set<string>();
  private usedClients = new Set<string>();
  /** Secure contexts made so far (server and client): what a test counts. */
  contextsBuilt = 0;

  constructor(
    private readonly store: CertificateReader,
    private readonly systemRoots: readonly Buffer[],
  ) {}

  /** Undefined when the certificate (or its key) is unusable for TLS. */
  material(c: EvaluatedCertificate | undefined): TlsMaterial | undefined {
    if (!c) return undefined;
    this.usedMaterials.add(c.thumbprint);
    let fingerprint = this.fingerprints.get(c);
    if (fingerprint === undefined) this.fingerprints.set(c, (fingerprint = materialFingerprint(c)));
    const cached = this.materials.get(c.thumbprint);
    if (cached && cached.fingerprint === fingerprint) return cached.material;
    const material = buildTlsMaterial(this.store, c);
    if (material) this.contextsBuilt++;
    this.materials.set(c.thumbprint, { fingerprint, material });
    return material;
  }

  /** The cached material of a certificate this build keeps using unchanged (a reused connector's). */
  keepMaterial(thumbprint: string | undefined): void {
    if (thumbprint) this.usedMaterials.add(thumbprint);
  }

  /** The client context for a certificate (or none) and the server's trusted roots. */
  clientContext(material: TlsMaterial | undefined, roots: readonly TrustedRootRecord[]): tls.SecureContext {
    const key = clientContextKey(material?.thumbprint, trustedRootsKey(roots));
    this.usedClients.add(key);
    let context = this.clients.get(key);
    if (!context) {
      const identity = material ? { cert: material.certPem, key: material.keyPem } : {};
      // Without installed roots Node's own root store serves: parsed once per process and shared by every context.
      context =
        roots.length === 0
          ? tls.createSecureContext(identity)
          : tls.createSecureContext({ ...identity, ca: [...this.systemRoots, ...roots.map((r) => r.der)].map((d) => derToPem(d, 'CERTIFICATE')) });
      this.contextsBuilt++;
      this.clients.set(key, context);
    }
    return context;
  }

  /** The cached client context of a connector this build keeps using unchanged. */
  keepClientContext(thumbprint: string | undefined, rootsKey: string): void {
    this.usedClients.add(clientContextKey(thumbprint, rootsKey));
  }

  /** Ends a build: what it did not use is dropped (snapshots still holding it keep it alive until they go). */
  commit(): void {
    for (const k of this.materials.keys()) if (!this.usedMaterials.has(k)) this.materials.delete(k);
    for (const k of this.clients.keys()) if (!this.usedClients.has(k)) this.clients.delete(k);
    this.usedMaterials = new Set();
    this.usedClients = new Set();
  }

  /** How many certificates and client contexts are held now. */
  size(): { materials: number; clientContexts: number } {
    return { materials: this.materials.size, clientContexts: this.clients.size };
  }
}
