// The http-01 challenge answered by Interchange itself (RFC 8555 §8.3): while a certificate is
// requested, the server that will hold it listens on the port the administrator chose and serves
// each token's key authorization at /.well-known/acme-challenge/<token>, and nothing else.
import http from 'node:http';
import { InterchangeError } from '../errors/interchange-error.js';

const PREFIX = '/.well-known/acme-challenge/';

export interface Http01Responder {
  readonly port: number;
  publish(token: string, keyAuthorization: string): void;
  unpublish(token: string): void;
  close(): Promise<void>;
}

/** Listens on `port` on every address: the CA connects from wherever it validates. */
export async function startHttp01Responder(port: number, serverName: string): Promise<Http01Responder> {
  const answers = new Map<string, string>();
  const server = http.createServer((req, res) => {
    const token = req.method === 'GET' && req.url?.startsWith(PREFIX) ? req.url.slice(PREFIX.length) : undefined;
    const answer = token === undefined ? undefined : answers.get(token);
    if (answer === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(answer);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        reject(new InterchangeError('ICX_PORT_IN_USE', `${serverName} can't answer the ACME http-01 challenge on port ${port}: another process listens there. Choose a free port with -HttpPort, one the CA reaches (it connects to port 80 of each name unless it was told otherwise).`, { parameter: 'HttpPort', cause: e }));
      } else if (e.code === 'EACCES') {
        reject(new InterchangeError('ICX_PORT_DENIED', `${serverName} may not listen on port ${port} for the ACME http-01 challenge: ports below 1024 need CAP_NET_BIND_SERVICE (or forward port 80 to a higher one and give that with -HttpPort).`, { parameter: 'HttpPort', cause: e }));
      } else reject(e);
    });
    server.listen(port, () => resolve());
  });
  return {
    port,
    publish: (token, keyAuthorization) => answers.set(token, keyAuthorization),
    unpublish: (token) => answers.delete(token),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
