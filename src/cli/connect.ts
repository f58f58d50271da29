import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { adminCertificatesOf } from '../cmdlets/framework/server-fetch.js';
import { isDirectoryUnavailable } from '../directory/directory-health.js';
import { type DirectoryLocation, parseDirectoryUrl } from '../directory/directory-url.js';
import { directoryTimeoutFromEnvironment } from '../directory/postgres/open-postgres-directory.js';
import { isDirectoryOutage } from '../directory/postgres/outage.js';
import { embeddedDirectoryFile, openDirectory } from '../directory/open-directory.js';
import { recordedDirectory } from '../directory/recorded-directory.js';
import { InterchangeError } from '../errors/interchange-error.js';
import { recordedAdminEndpoint } from '../server/admin-endpoint.js';
import { defaultServerName } from '../server/interchange-server.js';

export interface Connection {
  url: string;
  token: string;
  serverName: string;
  /** For https: the certificates the server may present (pinned instead of a CA and host name check). */
  trust?: Buffer[];
  /** Said once on standard error before the shell starts (the directory could not be asked). */
  notice?: string;
}

/**
 * Finds the admin API to talk to: --url/--token (or INTERCHANGE_URL and
 * INTERCHANGE_TOKEN) for a remote server; otherwise the server of the local
 * data folder, looked up in the directory where every server records its
 * admin endpoint (--directory, or the one `serve` recorded in the data folder).
 */
export async function resolveConnection(opts: { url?: string; token?: string; dataDir: string; server?: string; directoryUrl?: string; trustCertificate?: string }): Promise<Connection> {
  const token = opts.token ?? process.env.INTERCHANGE_TOKEN ?? readToken(opts.dataDir);
  const url = opts.url ?? process.env.INTERCHANGE_URL;
  if (url) {
    if (!token) throw new InterchangeError('ICX_AUTH_REQUIRED', 'No administrator token: pass --token or set INTERCHANGE_TOKEN.');
    return { url: url.replace(/\/$/, ''), token, serverName: opts.server ?? '', ...(opts.trustCertificate ? { trust: [readCertificateFile(opts.trustCertificate)] } : {}) };
  }
  // The directory `serve` used with this data folder: a PostgreSQL host needs no --directory repeated.
  const location =
    opts.directoryUrl !== undefined
      ? parseDirectoryUrl(opts.directoryUrl)
      : (recordedDirectory(opts.dataDir) ?? (fs.existsSync(embeddedDirectoryFile(opts.dataDir)) ? ({ kind: 'sqlite' } as const) : undefined));
  if (!location) {
    throw new InterchangeError('ICX_DIRECTORY_UNAVAILABLE', `No Interchange data folder at ${path.resolve(opts.dataDir)}. Start a server with 'interchange serve --data ${opts.dataDir}', or pass --url and --token.`);
  }
  if (!token) throw new InterchangeError('ICX_AUTH_REQUIRED', `No administrator token in ${path.join(opts.dataDir, 'admin-token')}: pass --token or set INTERCHANGE_TOKEN.`);
  try {
    return await fromDirectory(opts.dataDir, location, token, opts.server);
  } catch (e) {
    // During an outage the directory cannot say where servers answer; this host's own server noted it in the data folder.
    if (!isDirectoryUnavailable(e) && !isDirectoryOutage(e)) throw e;
    const own = recordedAdminEndpoint(opts.dataDir, opts.server, defaultServerName());
    if (!own) throw e;
    const cause = (e as Error).message;
    return {
      url: own.url,
      token,
      serverName: own.server,
      ...(own.certificate ? { trust: [own.certificate] } : {}),
      notice: `WARNING: ${/^The directory/.test(cause) ? cause : `The directory cannot be reached: ${cause}.`} Connecting to ${own.server} at ${own.url}, as its data folder records it.`,
    };
  }
}

async function fromDirectory(dataDir: string, location: DirectoryLocation, token: string, wantedServer: string | undefined): Promise<Connection> {
  const directory = await openDirectory({ dataDir, location, timeoutMs: directoryTimeoutFromEnvironment() });
  try {
    const servers = await directory.listServers();
    const wanted = (wantedServer ?? '').toLowerCase();
    const server =
      (wanted ? servers.find((s) => s.name.toLowerCase() === wanted || s.fqdn.toLowerCase() === wanted) : undefined) ??
      (!wanted ? (servers.find((s) => s.name === defaultServerName()) ?? servers[0]) : undefined);
    if (!server) throw new InterchangeError('ICX_SERVER_NOT_FOUND', `No server named '${wantedServer}' in the organization. Known servers: ${servers.map((s) => s.name).join(', ') || 'none'}.`);
    if (!server.adminUrl) throw new InterchangeError('ICX_TRANSPORT_UNREACHABLE', `Server ${server.name} has not registered an admin endpoint yet; is it running?`);
    // The directory says which certificate the server's admin API presents: trust exactly that one.
    const trust = server.adminUrl.startsWith('https:') ? await adminCertificatesOf(directory, server.name) : undefined;
    return { url: server.adminUrl, token, serverName: server.name, ...(trust ? { trust } : {}) };
  } finally {
    await directory.close();
  }
}

/** INTERCHANGE_DIRECTORY; set but empty (`Environment=INTERCHANGE_DIRECTORY=` in a unit) is unset, while `--directory ''` is refused. */
export function envDirectory(): string | undefined {
  return process.env.INTERCHANGE_DIRECTORY || undefined;
}

function readToken(dataDir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A certificate file as Export-ExchangeCertificate or openssl writes it: DER, or PEM (Base64). */
function readCertificateFile(file: string): Buffer {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (e) {
    throw new InterchangeError('ICX_PARAM_INVALID', `The certificate file ${file} cannot be read: ${(e as Error).message}`, { parameter: 'TrustCertificate' });
  }
  const pem = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(raw.toString('latin1'));
  const der = pem ? Buffer.from(pem[1].replace(/\s+/g, ''), 'base64') : raw;
  try {
    new X509Certificate(der);
  } catch {
    throw new InterchangeError('ICX_PARAM_INVALID', `${file} is not an X.509 certificate (DER or PEM).`, { parameter: 'TrustCertificate' });
  }
  return der;
}
