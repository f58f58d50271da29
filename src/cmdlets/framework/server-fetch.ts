import type { InvokeResponse } from '../contract.js';
import type { DirectoryStore } from '../../directory/directory-store.js';
import type { ServerRecord } from '../../directory/records.js';
import { pinnedFetch } from '../../security/pinned-fetch.js';

/** The certificates another server may present on its admin API: the ones assigned to IIS there, as the directory holds them. */
export async function adminCertificatesOf(directory: DirectoryStore, serverName: string): Promise<Buffer[]> {
  return (await directory.listCertificates(serverName)).filter((c) => c.der && c.services.includes('IIS')).map((c) => c.der!);
}

/**
 * How to call a server's admin API: over HTTPS only if it presents its own
 * IIS certificate, so a call meant for EX02 never reaches another host that
 * answers at EX02's address.
 */
async function fetchForServer(directory: DirectoryStore, server: ServerRecord): Promise<typeof fetch> {
  if (!server.adminUrl?.startsWith('https:')) return fetch;
  return pinnedFetch(await adminCertificatesOf(directory, server.name));
}

/**
 * Runs a cmdlet on another server's admin API with the caller's credential
 * (the one door for every call between servers). A connection failure is
 * thrown as it came, so each caller can say what it means in its own words.
 */
export async function invokeOnServer(
  directory: DirectoryStore,
  server: ServerRecord,
  token: string,
  cmdlet: string,
  parameters: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<InvokeResponse> {
  const call = await fetchForServer(directory, server);
  const res = await call(`${server.adminUrl}/api/v1/cmdlets/${cmdlet}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ parameters, confirmed: true }),
    ...(signal ? { signal } : {}),
  });
  return (await res.json()) as InvokeResponse;
}
