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
 */
export function reportingOutages(store: DirectoryStore, where: string, health?: DirectoryHealth): DirectoryStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = value.apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.then(
          (answer) => {
            health?.answered();
            return answer;
          },
          (e: unknown) => {
            if (!isDirectoryOutage(e)) {
              // PostgreSQL answered, if only to refuse: it is reachable.
              health?.answered();
              throw e;
            }
            const cause = (e as Error).message || (e as { code?: string }).code || 'connection failed';
            health?.failed(cause);
            throw new InterchangeError('ICX_DIRECTORY_UNAVAILABLE', `The directory at ${where} cannot be reached: ${cause}.`, { cause: e });
          },
        );
      };
    },
  });
}
