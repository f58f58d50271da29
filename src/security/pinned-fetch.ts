// A fetch() that trusts exactly the certificates it is given: the admin API of
// another server of the organization, whose IIS certificate the directory
// holds, or one an administrator named with --trust-certificate. A
// self-signed certificate is then as good as a CA-signed one, and a host that
// answers at the right address with any other certificate is refused: the
// call never reaches the wrong server. Written on node:https because Node 20's
// fetch cannot be given a CA without the undici package.
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import tls from 'node:tls';
import { derToPem } from '../certificates/keys.js';

/**
 * The answer came with a certificate other than the pinned ones: the chain
 * did not verify against them (another host's self-signed certificate), or a
 * CA-signed leaf is not one of them. No request was sent.
 */
export class UntrustedCertificateError extends Error {
  constructor(detail: string, options?: ErrorOptions) {
    super(`the server presented a certificate that is not the one this connection trusts (${detail})`, options);
    this.name = 'UntrustedCertificateError';
  }
}

/** OpenSSL's verdicts on a chain that none of the trusted certificates signed. */
const UNTRUSTED_CHAIN = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']);

export function pinnedFetch(certificates: readonly Buffer[]): typeof fetch {
  const pins = new Set(certificates.map((der) => new X509Certificate(der).fingerprint256));
  const ca = [...tls.rootCertificates, ...certificates.map((der) => derToPem(der, 'CERTIFICATE'))];
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (url.protocol !== 'https:') return fetch(input, init);
    const body = init.body === undefined || init.body === null ? undefined : Buffer.from(String(init.body));
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    if (body) headers['content-length'] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const req = https.request(
        url,
        {
          method: init.method ?? 'GET',
          headers,
          ca,
          signal: init.signal ?? undefined,
          // The chain must verify against the pinned certificates (or a public CA), and the leaf must be one of them;
          // the host name is not what identifies the server here.
          checkServerIdentity: (_host, cert) => (pins.has(cert.fingerprint256) ? undefined : new UntrustedCertificateError(`SHA-256 ${cert.fingerprint256}`)),
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
            const status = res.statusCode ?? 500;
            resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: h }));
          });
          res.on('error', reject);
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => reject(e.code && UNTRUSTED_CHAIN.has(e.code) ? new UntrustedCertificateError(e.message, { cause: e }) : e));
      req.end(body);
    });
  }) as typeof fetch;
}
