// `serve` notes in its data folder where its admin API answers and which
// certificate it presents there. The directory holds the same for every
// server, and `shell --data` normally asks it; but during a directory outage
// that lookup fails, and the administrator on the server's own host could not
// reach the one server that can still answer (Get-Queue, Stop-Service). With
// this note the shell reaches its own host's server, verifying exactly the
// certificate noted (a public certificate: no secret is written here).
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { readOrUndefined, writeAtomically } from '../directory/recorded-directory.js';

const FILE = 'admin-endpoint.json';

export interface RecordedAdminEndpoint {
  server: string;
  url: string;
  /** DER of the certificate its HTTPS listener presents; absent for plain HTTP on loopback. */
  certificate?: Buffer;
}

export function recordAdminEndpoint(dataDir: string, endpoint: { server: string; url: string; certificatePem?: string }): void {
  const leaf = endpoint.certificatePem && /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(endpoint.certificatePem)?.[0];
  const der = leaf ? Buffer.from(new X509Certificate(leaf).raw).toString('base64') : undefined;
  writeAtomically(path.join(dataDir, FILE), JSON.stringify({ server: endpoint.server, url: endpoint.url, ...(der ? { certificate: der } : {}) }) + '\n');
}

/** The endpoint `serve` last noted in this data folder, or undefined (none, or not readable as one). */
export function recordedAdminEndpoint(dataDir: string): RecordedAdminEndpoint | undefined {
  const text = readOrUndefined(path.join(dataDir, FILE));
  if (!text) return undefined;
  try {
    const o = JSON.parse(text) as { server?: unknown; url?: unknown; certificate?: unknown };
    if (typeof o.server !== 'string' || typeof o.url !== 'string') return undefined;
    return { server: o.server, url: o.url, ...(typeof o.certificate === 'string' ? { certificate: Buffer.from(o.certificate, 'base64') } : {}) };
  } catch {
    return undefined;
  }
}
