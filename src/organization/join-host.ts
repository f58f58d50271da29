// `interchange join`: prepares the data folder of a new host from a running
// server of the organization, instead of an administrator copying
// keyvault.key by hand. The folder ends as a first `serve` of a joining host
// would leave it: the organization's id, the directory it uses (the password
// in a file of its own), the key and the administrator token, each 0600.
import fs from 'node:fs';
import path from 'node:path';
import type { InvokeResponse } from '../cmdlets/contract.js';
import { parseDirectoryUrl } from '../directory/directory-url.js';
import { readOrUndefined, recordDirectory, writeAtomically } from '../directory/recorded-directory.js';
import { ERROR_CATALOG, type ErrorCode } from '../errors/catalog.js';
import { InterchangeError } from '../errors/interchange-error.js';
import { prepareDataFolder } from '../server/data-folder.js';
import { UntrustedCertificateError } from '../security/pinned-fetch.js';
import { fetchPinnedToThumbprint, normalizeThumbprint } from '../security/thumbprint-pin.js';
import { checkObjectName } from './object-name.js';

export interface JoinOptions {
  dataDir: string;
  server: string;
  /** The admin API of a running server of the organization: https only. */
  from: string;
  thumbprint: string;
  token: string;
}

export interface JoinedHost {
  dataDir: string;
  server: string;
  organization: string;
  /** Without its password. */
  directory: string;
  answeredBy?: string;
}

/** Files that make a folder some organization's: a folder holding any of them is not joined again. */
const MEMBERSHIP_FILES = ['organization', 'keyvault.key', 'admin-token', 'directory.sqlite', 'directory-url', 'directory-password'];

const FETCH_TIMEOUT_MS = 30_000;

export async function joinHost(opts: JoinOptions): Promise<JoinedHost> {
  const server = checkObjectName(opts.server, 'Server', 15).toUpperCase();
  const from = httpsUrl(opts.from);
  const thumbprint = normalizeThumbprint(opts.thumbprint);
  const token = opts.token.trim();
  if (!/^\S+$/.test(token)) throw new InterchangeError('ICX_AUTH_REQUIRED', 'The administrator token is empty or has spaces in it: give the one line of a token (for instance the admin-token file of a server of the organization).');
  const dataDir = path.resolve(opts.dataDir);
  // Before anything is fetched: the organization's key goes only to a folder that belongs to no organization.
  refuseFolderOfAnOrganization(dataDir);
  prepareDataFolder(dataDir);

  const call = await pinned(from, thumbprint);
  let res: Response;
  try {
    res = await call(`${from.origin}${from.pathname.replace(/\/$/, '')}/api/v1/cmdlets/Export-OrganizationJoinData`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ parameters: { Server: server }, confirmed: true }),
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  } catch (e) {
    throw unreachable(from, e);
  }
  const answer = (await res.json().catch(() => undefined)) as InvokeResponse | undefined;
  if (res.status === 401) throw new InterchangeError('ICX_AUTH_REQUIRED', `${from.origin} refused the administrator token: give a valid token of Organization Management (its admin-token file, or New-AdministratorCredential).`);
  if (!answer?.ok) {
    const error = answer?.error;
    throw new InterchangeError(
      error && error.code in ERROR_CATALOG ? (error.code as ErrorCode) : 'ICX_TRANSPORT_UNREACHABLE',
      `${from.origin} did not hand out the organization's join data: ${error?.message ?? `HTTP ${res.status}`}`,
    );
  }
  const data = answer.output[0] as Record<string, unknown> | undefined;
  const organization = typeof data?.OrganizationGuid === 'string' ? data.OrganizationGuid : '';
  const key = Buffer.from(String((data?.KeyVaultKey as { $bytes?: string } | undefined)?.$bytes ?? ''), 'base64');
  const directoryUrl = typeof data?.DirectoryUrl === 'string' ? data.DirectoryUrl : '';
  const password = typeof data?.DirectoryPassword === 'string' ? data.DirectoryPassword : undefined;
  if (!/^[0-9a-f-]{36}$/i.test(organization) || key.length !== 32 || !directoryUrl) {
    throw new InterchangeError('ICX_TRANSPORT_UNREACHABLE', `${from.origin} answered without an organization, a 256-bit key and a directory URL; nothing was written.`);
  }
  const location = parseDirectoryUrl(directoryUrl);
  if (location.kind !== 'postgres') throw new InterchangeError('ICX_DIRECTORY_URL_INVALID', `${from.origin} named a directory that is not PostgreSQL; nothing was written.`);

  // Everything is written, or nothing is: a half-prepared folder would look like a joining host's to serve.
  const written: string[] = [];
  try {
    const keyFile = path.join(dataDir, 'keyvault.key');
    fs.writeFileSync(keyFile, key, { mode: 0o600, flag: 'wx' });
    written.push(keyFile);
    for (const [name, content] of [['organization', organization + '\n'], ['admin-token', token + '\n']] as const) {
      const file = path.join(dataDir, name);
      written.push(file);
      writeAtomically(file, content);
    }
    written.push(path.join(dataDir, 'directory-url'), path.join(dataDir, 'directory-password'));
    recordDirectory(dataDir, { ...location, ...(password !== undefined ? { password } : {}) });
  } catch (e) {
    for (const file of written) fs.rmSync(file, { force: true });
    throw e;
  }
  return { dataDir, server, organization, directory: location.withoutPassword, ...(res.headers.get('x-interchange-server') ? { answeredBy: res.headers.get('x-interchange-server')! } : {}) };
}

function httpsUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InterchangeError('ICX_PARAM_INVALID', `--from '${raw.slice(0, 200)}' is not a URL: give the HTTPS admin address of a running server, e.g. https://ex01.contoso.com:8080.`, { parameter: 'From' });
  }
  if (url.protocol !== 'https:') {
    throw new InterchangeError(
      'ICX_CHANNEL_NOT_SECURE',
      `--from ${url.origin} is not HTTPS: the organization's key is fetched only over TLS, pinned to --thumbprint. Give the server's HTTPS admin address (serve --admin-host <address>).`,
      { parameter: 'From' },
    );
  }
  return url;
}

function refuseFolderOfAnOrganization(dataDir: string): void {
  let present: string[];
  try {
    present = MEMBERSHIP_FILES.filter((f) => fs.existsSync(path.join(dataDir, f)));
  } catch {
    return; // prepareDataFolder names what is wrong with the path.
  }
  if (present.length === 0) return;
  const organization = readOrUndefined(path.join(dataDir, 'organization'))?.trim();
  throw new InterchangeError(
    'ICX_ORGANIZATION_MISMATCH',
    `The data folder ${dataDir} already belongs to ${organization ? `organization ${organization}` : 'an organization'} (it holds ${present.join(', ')}): join prepares an empty data folder; nothing was fetched.`,
  );
}

async function pinned(from: URL, thumbprint: string): Promise<typeof fetch> {
  try {
    return await fetchPinnedToThumbprint(from, thumbprint);
  } catch (e) {
    if (e instanceof InterchangeError) throw e;
    throw unreachable(from, e);
  }
}

function unreachable(from: URL, e: unknown): InterchangeError {
  if (e instanceof UntrustedCertificateError) return new InterchangeError('ICX_THUMBPRINT_MISMATCH', `${from.origin}: ${e.message}; nothing was sent.`, { cause: e });
  const err = e as NodeJS.ErrnoException;
  const cause = err?.name === 'TimeoutError' ? 'no answer in time' : (err?.code ?? err?.message ?? String(e));
  return new InterchangeError('ICX_TRANSPORT_UNREACHABLE', `${from.origin} cannot be reached: ${cause}.`, { cause: e });
}
