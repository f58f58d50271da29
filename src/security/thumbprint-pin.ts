// Trust on a thumbprint an administrator read from the other server
// (Get-ExchangeCertificate's Thumbprint of its IIS certificate): a host that
// has nothing of the organization yet has no certificate to pin, only that
// string. The certificate is taken from a TLS handshake that sends no
// request, compared, and then pinned for the real call (pinned-fetch), so the
// request and its token only ever travel to the certificate that was checked.
import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { InterchangeError } from '../errors/interchange-error.js';
import { pinnedFetch } from './pinned-fetch.js';

/** Exchange's thumbprint: the SHA-1 of the certificate's DER, 40 hexadecimal digits in upper case. */
export function thumbprintOf(der: Buffer): string {
  return createHash('sha1').update(der).digest('hex').toUpperCase();
}

/** A thumbprint as administrators paste it (spaces or colons, any case) in Exchange's form; anything else is refused. */
export function normalizeThumbprint(raw: string, option = '--thumbprint'): string {
  const t = raw.replace(/[\s:]/g, '').toUpperCase();
  if (!/^[0-9A-F]{40}$/.test(t)) throw new InterchangeError('ICX_PARAM_INVALID', `${option} '${raw.slice(0, 80)}' is not a certificate thumbprint (40 hexadecimal digits, as Get-ExchangeCertificate shows it).`, { parameter: 'Thumbprint' });
  return t;
}

/** The certificate the server at `url` presents, from a handshake after which the connection is closed unused. */
export function presentedCertificate(url: URL, timeoutMs = 10_000): Promise<Buffer> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port: Number(url.port || 443),
      ...(net.isIP(host) ? {} : { servername: host }),
      // Nothing is sent on this connection: the certificate is only read, and judged by its thumbprint below.
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    socket.once('secureConnect', () => {
      const der = socket.getPeerCertificate().raw;
      socket.destroy();
      if (der) resolve(der);
      else reject(new Error('the server presented no certificate'));
    });
    socket.once('timeout', () => socket.destroy(new Error(`no TLS handshake within ${timeoutMs / 1000} s`)));
    socket.once('error', reject);
  });
}

/**
 * A fetch for `url`'s server that sends only to the certificate with `thumbprint`; a server presenting
 * another one is refused before anything is sent, with both thumbprints named.
 */
export async function fetchPinnedToThumbprint(url: URL, thumbprint: string): Promise<typeof fetch> {
  const expected = normalizeThumbprint(thumbprint);
  const der = await presentedCertificate(url);
  const presented = thumbprintOf(der);
  if (presented !== expected) {
    throw new InterchangeError(
      'ICX_THUMBPRINT_MISMATCH',
      `The server at ${url.origin} presented the certificate with thumbprint ${presented}, not the expected ${expected}: nothing was sent. Check the thumbprint (Get-ExchangeCertificate on that server, the certificate assigned to IIS) and the address.`,
    );
  }
  return pinnedFetch([der]);
}
