import { isDirectoryUnavailable } from '../../directory/directory-health.js';
import type { DirectoryStore } from '../../directory/directory-store.js';
import type { ServerRecord } from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import type { MultiValuedEdit } from '../framework/conversion.js';
import { isMultiValuedEdit } from '../framework/conversion.js';
import type { CmdletContext } from '../framework/context.js';
import type { ParameterDeclaration } from '../framework/declaration.js';

/** Servers are named by Name or FQDN, any case (Exchange's ServerIdParameter). */
/**
 * The server an identity names, for cmdlets that this server can answer from
 * its running state: while the directory cannot be reached, this server itself
 * (by name or FQDN) is still found, as its running transport knows it, and the
 * output says so. Any other server needs the directory, and fails with it.
 */
export async function resolveServerOrRunning(ctx: CmdletContext, identity: string): Promise<ServerRecord> {
  try {
    return await resolveServer(ctx.services.directory, identity);
  } catch (e) {
    const running = isDirectoryUnavailable(e) ? ctx.services.transport?.runningServer?.() : undefined;
    const wanted = identity.trim().toLowerCase();
    if (!running || (running.name.toLowerCase() !== wanted && running.fqdn.toLowerCase() !== wanted)) throw e;
    ctx.writeWarning(`${(e as Error).message} ${running.name} answers from its running configuration.`);
    return running;
  }
}

export async function resolveServer(directory: DirectoryStore, identity: string): Promise<ServerRecord> {
  const wanted = identity.trim().toLowerCase();
  const server = (await directory.getServer(wanted)) ?? (await directory.listServers()).find((s) => s.fqdn.toLowerCase() === wanted || s.guid === wanted);
  if (!server) {
    throw new InterchangeError('ICX_SERVER_NOT_FOUND', `The operation couldn't be performed because object '${identity}' couldn't be found on the directory of organization servers.`);
  }
  return server;
}

/** A Set-* value for a multi-valued property: a full replacement, or Add/Remove edits applied to the current value. */
export function applyMultiValued<T>(current: readonly T[], value: unknown, same: (a: T, b: T) => boolean = (a, b) => a === b): T[] {
  if (value === null || value === undefined) return [];
  if (isMultiValuedEdit(value)) {
    const edit = value as MultiValuedEdit<T>;
    const kept = current.filter((c) => !edit.remove.some((r) => same(c, r)));
    for (const a of edit.add) if (!kept.some((k) => same(k, a))) kept.push(a);
    return kept;
  }
  return [...(value as T[])];
}

export const sameText = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export const serverParameter = (sets?: string[]): ParameterDeclaration => ({
  name: 'Server',
  type: 'String',
  sets,
  description: 'The server to act on: its name or FQDN. Default: the server you are connected to.',
});

export const identityError = (kind: string, identity: string) =>
  new InterchangeError('ICX_OBJECT_NOT_FOUND', `The operation couldn't be performed because object '${identity}' couldn't be found on '${kind}'.`);
