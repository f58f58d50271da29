// The address a server gives the organization for its admin API, as other
// servers and shells reach it, which is not always where it listens: behind
// NAT, a proxy or a name, and never a wildcard or another host's loopback.
import { InterchangeError } from '../errors/interchange-error.js';

/**
 * `--advertise-url` checked and written the one way the directory keeps it
 * (`https://ex01.contoso.com:8443`). Its scheme must be the one the server
 * serves: a call made over the other would fail, or go in clear.
 */
export function parseAdvertiseUrl(text: string, scheme: 'http' | 'https'): string {
  const bad = (why: string) => new InterchangeError('ICX_ADVERTISE_URL_INVALID', `--advertise-url ${JSON.stringify(text)} ${why}.`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad(`is not a URL; give one such as ${scheme}://ex01.contoso.com:8443`);
  }
  const given = url.protocol.slice(0, -1);
  if (given !== 'http' && given !== 'https') throw bad('must begin with https:// or http://');
  if (given !== scheme) throw bad(`says ${given}, but this server serves its admin API over ${scheme} (${scheme === 'https' ? 'the address it listens on is not loopback, or --admin-https was given' : 'add --admin-https to serve HTTPS'})`);
  if (url.username || url.password) throw bad('may not hold a user name or password');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) throw bad('must name only a host and port, no path, query or fragment');
  const host = url.hostname;
  if (host === '0.0.0.0' || host === '[::]') throw bad('names a wildcard address, which reaches no server; give the host name or address others use');
  return `${given}://${url.host}`;
}
