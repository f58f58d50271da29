// A directory that cannot be reached is one condition with one error, not a
// driver's stack trace: every call of the store that fails because PostgreSQL
// is down, refusing, frozen past the timeouts or cut off mid-query becomes
// ICX_DIRECTORY_UNAVAILABLE naming the directory (without its password) and
// the cause. Errors PostgreSQL answers about the data itself pass unchanged.
import { InterchangeError } from '../../errors/interchange-error.js';
import type { DirectoryHealth } from '../directory-health.js';
import type { DirectoryStore } from '../directory-store.js';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
// SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, terminated), and 57014 (statement timeout).
const SQLSTATE = /^(08...|57P0[1-5]|57014|53300)$/;
// What pg itself throws when the pool or a client gives up, with no code.
const DRIVER_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|Query read timeout|Client has encountered a connection error|Connection ended unexpectedly/i;

/** Whether an error from the directory means it cannot be reached (rather than a refusal about the data). */
export function isDirectoryOutage(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATE.test(code))) return true;
  if (e instanceof AggregateError) return e.errors.some(isDirectoryOutage);
  return DRIVER_MESSAGES.test(e.message);
}

/** `postgres://user:secret@db:5432/interchange` → `postgres://user@db:5432/interchange`, for messages and logs. */
export function describeDirectory(connectionString: string): string {
  try {
    const u = new URL(connectionString);
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return 'the PostgreSQL directory';
  }
}

/**
 * The store, with every outage of its calls reported as ICX_DIRECTORY_UNAVAILABLE,
 * and each call's outcome told to `health` (which logs an outage once, not per call).
 *
 * While an outage lasts, one call at a time goes to the directory to find out
 * whether it is back, at most one a second (the transport's poll makes them);
 * the others fail at once with the outage's cause. A frozen database would
 * otherwise hold each of them for the whole query timeout, and queue them
 * behind the pool's few connections.
 */
export function reportingOutages(store: DirectoryStore, where: string, health?: DirectoryHealth, probeSpacingMs = 1_000): DirectoryStore {
  let probing = false;
  let lastProbeEnded = 0;
  const probeEnded = () => {
    probing = false;
    lastProbeEnded = performance.now();
  };
  const unavailable = (cause: string, e?: unknown) => new InterchangeError('ICX_DIRECTORY_UNAVAILABLE', `The directory at ${where} cannot be reached: ${cause}.`, e === undefined ? undefined : { cause: e });
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      // Async generators (paged scans) start no query when called; their pages are read by the caller.
      if (typeof value !== 'function' || value.constructor.name === 'AsyncGeneratorFunction') return value;
      return (...args: unknown[]) => {
        const outage = health?.state();
        let probe = false;
        if (outage && !outage.reachable) {
          if (probing || performance.now() - lastProbeEnded < probeSpacingMs) {
            health!.failed(outage.cause!);
            return Promise.reject(unavailable(outage.cause!));
          }
          probing = probe = true;
        }
        let result: unknown;
        try {
          result = value.apply(target, args);
        } finally {
          if (probe && !(result instanceof Promise)) probeEnded();
        }
        if (!(result instanceof Promise)) return result;
        return result.then(
          (answer) => {
            if (probe) probeEnded();
            health?.answered();
            return answer;
          },
          (e: unknown) => {
            if (probe) probeEnded();
            if (!isDirectoryOutage(e)) {
              // PostgreSQL answered, if only to refuse: it is reachable.
              health?.answered();
              throw e;
            }
            const cause = (e as Error).message || (e as { code?: string }).code || 'connection failed';
            health?.failed(cause);
            throw unavailable(cause, e);
          },
        );
      };
    },
  });
}
