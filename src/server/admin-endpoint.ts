// `serve` notes in its data folder where its admin API answers and which
// certificate it presents there. The directory holds the same for every
// server, and `shell --data` normally asks it; but during a directory outage
// that lookup fails, and the administrator on the server's own host could not
// reach the one server that can still answer (Get-Queue, Stop-Service). With
// this note the shell reaches its own host's server, verifying exactly the
// certificate noted (a public certificate: no secret is written here).
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readOrUndefined, writeAtomically } from '../directory/recorded-directory.js';
import { serverHome } from '../organization/bootstrap.js';

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
  // In the server's own folder: several servers may share one data folder (the embedded directory's lab setups).
  const home = serverHome(dataDir, endpoint.server);
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  writeAtomically(path.join(home, FILE), JSON.stringify({ server: endpoint.server, url: endpoint.url, ...(der ? { certificate: der } : {}) }) + '\n');
}

/**
 * The endpoint `serve` last noted in this data folder for `server`; without a
 * name, the folder's only server or the one named after this host. Undefined
 * when there is none (or it is not readable as one).
 */
export function recordedAdminEndpoint(dataDir: string, server: string | undefined, hostServer: string): RecordedAdminEndpoint | undefined {
  const noted = (name: string) => parse(readOrUndefined(path.join(serverHome(dataDir, name), FILE)));
  if (server) return noted(server);
  let names: string[];
  try {
    names = fs.readdirSync(path.join(dataDir, 'servers'));
  } catch {
    return undefined;
  }
  const endpoints = names.map(noted).filter((e): e is RecordedAdminEndpoint => !!e);
  return endpoints.length === 1 ? endpoints[0] : endpoints.find((e) => e.server.toUpperCase() === hostServer.toUpperCase());
}

function parse(text: string | undefined): RecordedAdminEndpoint | undefined {
  if (!text) return undefined;
  try {
    const o = JSON.parse(text) as { server?: unknown; url?: unknown; certificate?: unknown };
    if (typeof o.server !== 'string' || typeof o.url !== 'string') return undefined;
    return { server: o.server, url: o.url, ...(typeof o.certificate === 'string' ? { certificate: Buffer.from(o.certificate, 'base64') } : {}) };
  } catch {
    return undefined;
  }
}
