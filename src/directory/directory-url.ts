import { InterchangeError } from '../errors/interchange-error.js';

/** Where the organization's directory lives: embedded in the data folder, or a PostgreSQL database. */
export type DirectoryLocation =
  | { kind: 'sqlite' }
  | {
      kind: 'postgres';
      /** The URL as given, password included: for the connection only, never for a file or a message. */
      url: string;
      /** The URL without its password: what messages and the data folder's record show. */
      withoutPassword: string;
      /** The decoded password of the URL's user part, if it has one. */
      password?: string;
    };

const ACCEPTED = 'postgres://user@host[:port]/database (or postgresql://…), or no --directory for the embedded directory in the data folder';

/**
 * Parses `--directory` strictly. A guess here is what turned `postgres:/x` (one
 * slash) into a new embedded organization that overwrote a copied admin-token,
 * so anything that is not plainly a PostgreSQL URL with a host is refused.
 */
export function parseDirectoryUrl(raw: string | undefined): DirectoryLocation {
  if (raw === undefined) return { kind: 'sqlite' };
  const refuse = (problem: string): never => {
    throw new InterchangeError('ICX_DIRECTORY_URL_INVALID', `The directory URL '${redact(raw)}' is not accepted: ${problem}. Use ${ACCEPTED}.`, { parameter: 'Directory' });
  };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1].toLowerCase();
  if (!scheme) return refuse(raw.trim() === '' ? 'it is empty' : 'it has no scheme (a path is not a directory URL)');
  if (scheme !== 'postgres' && scheme !== 'postgresql') return refuse(`the scheme '${scheme}:' is not supported`);
  if (!raw.slice(scheme.length + 1).startsWith('//')) return refuse(`'${scheme}:' must be followed by '//' and a host`);
  if (/^[^:]+:\/\/([^@/?#]*@)?([/?#:]|$)/.test(raw)) return refuse('it names no host');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('it is not a well-formed URL');
  }
  if (url.port === '0') return refuse('port 0 is not a PostgreSQL port');
  let password: string | undefined;
  try {
    // libpq also takes the password as a query parameter; it is kept out of files the same way.
    password = url.password ? decodeURIComponent(url.password) : (url.searchParams.get('password') ?? undefined);
  } catch {
    return refuse('its password is not properly percent-encoded');
  }
  const bare = new URL(raw);
  bare.password = '';
  bare.searchParams.delete('password');
  return { kind: 'postgres', url: raw, withoutPassword: bare.toString(), ...(password !== undefined ? { password } : {}) };
}

/** The URL again, with the password put back: what a recorded URL and its password file make together. */
export function withPassword(urlWithoutPassword: string, password: string): string {
  const url = new URL(urlWithoutPassword);
  url.password = encodeURIComponent(password);
  return url.toString();
}

/** Messages may name a URL, never its password, even one too malformed to parse. */
function redact(raw: string): string {
  return raw.replace(/^([^:/]*:\/*[^:@/]*):[^@/]*@/, '$1:****@').replace(/([?&]password=)[^&]*/i, '$1****');
}
