// A next hop that keeps the exact bytes of every command it was sent, so a
// test can check what reached it octet for octet (smtp-server decodes the
// envelope and would hide a re-encoding). It offers the extensions a test
// names and accepts every message.
import net from 'node:net';
import { freeTcpPort } from './interchange.js';

export interface RawHopMessage {
  /** The MAIL and RCPT lines of the transaction, as received, without CRLF. */
  commands: Buffer[];
  /** The data as received, dot-stuffed, without the terminating `.` line. */
  data: Buffer;
}

export interface RawNextHop {
  port: number;
  /** Every command line of every session, as received, without CRLF. */
  commands: Buffer[];
  messages: RawHopMessage[];
  stop(): Promise<void>;
}

export async function startRawNextHop(opts: { extensions: string[] }): Promise<RawNextHop> {
  const port = await freeTcpPort();
  const commands: Buffer[] = [];
  const messages: RawHopMessage[] = [];
  const sockets = new Set<net.Socket>();
  const ehlo = ['250-nexthop.test', ...opts.extensions.map((e, i) => `250${i === opts.extensions.length - 1 ? ' ' : '-'}${e}`)];
  if (opts.extensions.length === 0) ehlo[0] = '250 nexthop.test';
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let inData = false;
    let transaction: Buffer[] = [];
    socket.write('220 nexthop.test ESMTP raw recorder\r\n');
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          messages.push({ commands: transaction, data: buf.subarray(0, end + 2) });
          transaction = [];
          buf = buf.subarray(end + 5);
          inData = false;
          socket.write('250 2.0.0 queued\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.subarray(0, nl);
        buf = buf.subarray(nl + 2);
        commands.push(line);
        const verb = line.subarray(0, 4).toString('latin1').toUpperCase();
        if (verb === 'EHLO') socket.write(ehlo.join('\r\n') + '\r\n');
        else if (verb === 'MAIL' || verb === 'RCPT') {
          transaction.push(line);
          socket.write('250 2.1.0 ok\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') socket.end('221 2.0.0 bye\r\n');
        else if (verb === 'RSET') {
          transaction = [];
          socket.write('250 2.0.0 ok\r\n');
        } else socket.write('502 5.5.1 not here\r\n');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    commands,
    messages,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
