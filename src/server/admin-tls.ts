// HTTPS for the admin center and API, as Exchange serves EAC and remote
// PowerShell through IIS: with the certificate Enable-ExchangeCertificate
// assigned to IIS on this server. A new assignment is picked up while the
// server runs (Node swaps the secure context of a listening TLS server), so
// renewing the certificate needs no restart.
import type tls from 'node:tls';
import type { CertificateReader, EvaluatedCertificate } from '../certificate-store/certificate-store.js';
import type { DirectoryStore } from '../directory/directory-store.js';
import { InterchangeError } from '../errors/interchange-error.js';
import { buildTlsMaterial } from '../transport/service/tls-material.js';

export interface AdminCertificate {
  thumbprint: string;
  cert: string;
  key: string;
}

/** The IIS certificate of a server: one binding, as IIS has; of several (an older organization), the newest usable one. */
export function iisCertificate(certificates: readonly EvaluatedCertificate[]): EvaluatedCertificate | undefined {
  return certificates
    .filter((c) => c.services.includes('IIS') && c.hasPrivateKey && c.status === 'Valid')
    .sort((a, b) => b.facts.notBefore.getTime() - a.facts.notBefore.getTime())[0];
}

export async function loadAdminCertificate(store: CertificateReader, serverName: string): Promise<AdminCertificate | undefined> {
  const chosen = iisCertificate(await store.list(serverName));
  const material = chosen && buildTlsMaterial(store, chosen);
  return material ? { thumbprint: material.thumbprint, cert: material.certPem, key: material.keyPem } : undefined;
}

export function noAdminCertificate(serverName: string): InterchangeError {
  return new InterchangeError(
    'ICX_ADMIN_CERTIFICATE_MISSING',
    `No valid certificate with a private key is assigned to IIS on ${serverName}, so the admin center cannot be served over HTTPS. Assign one (Enable-ExchangeCertificate -Server ${serverName} -Thumbprint <thumbprint> -Services IIS) or start with --insecure-admin-http.`,
  );
}

/** Follows the IIS assignment: polls the directory's revision and swaps the certificate of the listening server. */
export class AdminCertificateWatcher {
  private timer: NodeJS.Timeout | undefined;
  private revision = -1;
  private busy = false;

  constructor(
    private readonly deps: { directory: DirectoryStore; store: CertificateReader; serverName: string; server: tls.Server; onChange?: (certificate: AdminCertificate) => void; onError?: (e: unknown) => void },
    private current: string,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  get thumbprint(): string {
    return this.current;
  }

  private async check(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const revision = await this.deps.directory.revision();
      if (revision === this.revision) return;
      this.revision = revision;
      const next = await loadAdminCertificate(this.deps.store, this.deps.serverName);
      // No usable IIS certificate any more (removed, expired): keep serving the last one rather than stop answering.
      if (!next || next.thumbprint === this.current) return;
      this.deps.server.setSecureContext({ cert: next.cert, key: next.key });
      this.current = next.thumbprint;
      this.deps.onChange?.(next);
    } catch (e) {
      this.deps.onError?.(e);
    } finally {
      this.busy = false;
    }
  }
}
