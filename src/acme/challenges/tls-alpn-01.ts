// tls-alpn-01 (RFC 8737): while the request runs, the requesting server answers TLS on the port the
// administrator chose, for the protocol acme-tls/1 only, with a self-signed certificate for the name
// the CA asks by SNI that carries the key authorization's digest (acme-client makes it).
import tls from 'node:tls';
import acme from 'acme-client';
import { InterchangeError } from '../../errors/interchange-error.js';
import type { ChallengeSolver } from './challenge.js';

export async function startTlsAlpn01(port: number, serverName: string): Promise<ChallengeSolver> {
  const contexts = new Map<string, tls.SecureContext>();
  const server = tls.createServer({
    ALPNProtocols: ['acme-tls/1'],
    SNICallback: (name, cb) => {
      const context = contexts.get(name.toLowerCase());
      if (context) cb(null, context);
      else cb(new Error(`no tls-alpn-01 challenge for ${name}`));
    },
  });
  // A handshake the CA (or a scanner) abandons must not reach the process's error handler.
  server.on('tlsClientError', () => undefined);
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        reject(new InterchangeError('ICX_PORT_IN_USE', `${serverName} can't answer the ACME tls-alpn-01 challenge on port ${port}: another process listens there. Choose a free port with -TlsAlpnPort, one the CA reaches (it connects to port 443 of each name unless it was told otherwise).`, { parameter: 'TlsAlpnPort', cause: e }));
      } else if (e.code === 'EACCES') {
        reject(new InterchangeError('ICX_PORT_DENIED', `${serverName} may not listen on port ${port} for the ACME tls-alpn-01 challenge: ports below 1024 need CAP_NET_BIND_SERVICE (or forward port 443 to a higher one and give that with -TlsAlpnPort).`, { parameter: 'TlsAlpnPort', cause: e }));
      } else reject(e);
    });
    server.listen(port, () => resolve());
  });
  return {
    type: 'TlsAlpn01',
    prepare: async (authz, _token, keyAuthorization) => {
      const name = authz.name.toLowerCase();
      const [key, cert] = await acme.crypto.createAlpnCertificate({ identifier: { type: 'dns', value: name } } as acme.Authorization, keyAuthorization);
      contexts.set(name, tls.createSecureContext({ key, cert }));
      return async () => {
        contexts.delete(name);
      };
    },
    failureHint: (name) =>
      `${serverName} answered TLS with ALPN acme-tls/1 on port ${port} while the request ran; the CA connects to the port of its own setting (443 for a public CA): check that ${name} resolves to ${serverName} for the CA and that the CA's port reaches port ${port} there.`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
