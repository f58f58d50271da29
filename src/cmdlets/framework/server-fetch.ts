import type { InvokeResponse } from '../contract.js';
import type { DirectoryStore } from '../../directory/directory-store.js';
import type { ServerRecord } from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import { pinnedFetch, UntrustedCertificateError } from '../../security/pinned-fetch.js';
import type { CmdletContext } from './context.js';

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

/** Names the server that answers a call, on every admin API response. */
export const ANSWERING_SERVER_HEADER = 'x-interchange-server';
/** Names the server that forwards a call it received to another server. */
export const FORWARDED_BY_HEADER = 'x-interchange-forwarded-by';
/** Names the server a forwarded call is meant for: any other server refuses it before running anything. */
export const INTENDED_SERVER_HEADER = 'x-interchange-intended-server';

/**
 * Runs a cmdlet on another server's admin API with the caller's credential
 * (the one door for every call between servers). A connection failure is
 * thrown as it came, so each caller can say what it means in its own words.
 *
 * A call goes one hop and reaches the server it names, or fails with a typed
 * error: never to this server itself, never forwarded again by the server
 * that received it, and the answer must come from the server named (an
 * address that a server advertises but another one answers, such as
 * 127.0.0.1 seen from a second host, would otherwise act on the wrong one).
 */
export async function invokeOnServer(ctx: CmdletContext, server: ServerRecord, cmdlet: string, parameters: Record<string, unknown>, signal?: AbortSignal): Promise<InvokeResponse> {
  const { directory, localServer } = ctx.services;
  if (sameServer(server.name, localServer)) {
    throw new InterchangeError('ICX_SERVER_CALL_LOOP', `${cmdlet} for ${server.name} would be sent by ${localServer} to itself; it is run here instead or not at all.`);
  }
  if (ctx.caller.forwardedBy) {
    throw new InterchangeError('ICX_SERVER_CALL_LOOP', `${cmdlet} reached ${localServer} forwarded by ${ctx.caller.forwardedBy} and would be forwarded again to ${server.name}; a call between servers goes one hop only.`);
  }
  if (!ctx.caller.token) throw new InterchangeError('ICX_TRANSPORT_UNREACHABLE', `Cannot reach computer '${server.name}' without the caller's credential.`);
  const call = await fetchForServer(directory, server);
  let res: Response;
  try {
    res = await call(`${server.adminUrl}/api/v1/cmdlets/${cmdlet}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.caller.token}`, [FORWARDED_BY_HEADER]: localServer, [INTENDED_SERVER_HEADER]: server.name },
      body: JSON.stringify({ parameters, confirmed: true }),
      signal: signal ?? AbortSignal.timeout(SERVER_CALL_TIMEOUT_MS),
    });
  } catch (e) {
    // Over HTTPS, another host at the address shows itself by its certificate, before any request is sent.
    if (e instanceof UntrustedCertificateError) {
      throw new InterchangeError(
        'ICX_SERVER_MISMATCH',
        `${server.name}'s admin address ${server.adminUrl} is answered with a certificate that is not ${server.name}'s IIS certificate, so another host answers there; nothing was run. Start ${server.name} with --advertise-url set to an address other servers reach it at.`,
        { cause: e },
      );
    }
    throw e;
  }
  const answering = res.headers.get(ANSWERING_SERVER_HEADER);
  if (!answering || !sameServer(answering, server.name)) {
    await res.body?.cancel();
    throw new InterchangeError(
      'ICX_SERVER_MISMATCH',
      `${server.name}'s admin address ${server.adminUrl} is answered by ${answering ?? 'something that is not an Interchange server'}, not by ${server.name}; nothing was run. Start ${server.name} with --advertise-url set to an address other servers reach it at.`,
    );
  }
  return (await res.json()) as InvokeResponse;
}

/** Longest wait for another server's answer when the caller gave none. */
const SERVER_CALL_TIMEOUT_MS = 30_000;

export function sameServer(a: string, b: string): boolean {
  return a.localeCompare(b, undefined, { sensitivity: 'accent' }) === 0;
}

/**
 * A read-only cmdlet run where its data lives, another server, with that
 * server's output and warnings passed on as this call's. `unreachable` words
 * the failure for the cmdlet at hand (`detail` says why); a typed error from
 * the other server comes back as it was thrown there.
 */
export async function runOnServer(ctx: CmdletContext, server: ServerRecord, cmdlet: string, parameters: Record<string, unknown>, unreachable: (detail: string) => InterchangeError): Promise<unknown[]> {
  if (!server.adminUrl) throw unreachable('it has not registered an admin endpoint');
  let body: InvokeResponse;
  try {
    body = await invokeOnServer(ctx, server, cmdlet, parameters);
  } catch (e) {
    if (e instanceof InterchangeError) throw e;
    throw unreachable(`${server.adminUrl}: ${(e as Error).message}`);
  }
  if (!body.ok && body.error) throw new InterchangeError(body.error.code as never, body.error.message);
  for (const w of body.warnings ?? []) ctx.writeWarning(w);
  return body.output;
}
