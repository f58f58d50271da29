// A next hop that breaks when a client resumes a TLS session: OpenSSL, asked
// for a client certificate without a session id context, answers a resumed
// handshake with alert 80 (internal error); Interchange's own receive side did
// until it named its context. Here that next hop is Node's TLS, configured that
// way on purpose, behind a few lines of SMTP. The Send connector offers the
// session once, fails that one attempt, and makes full handshakes with that hop
// from then on: one failed connection, never one every other connection.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import tls from 'node:tls';
import { createTestPki, pem } from '../support/pki.js';
import { startTestServer, submitMessage, waitFor } from '../support/transport-harness.js';

interface BrokenHop {
  port: number;
  delivered: () => number;
  handshakes: () => { full: number; failed: number };
  close: () => Promise<void>;
}

async function startHopThatBreaksOnResumption(certPem: string, keyPem: string): Promise<BrokenHop> {
  const context = tls.createSecureContext({ cert: certPem, key: keyPem });
  let delivered = 0;
  let full = 0;
  let failed = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((plain) => {
    sockets.add(plain);
    plain.on('close', () => sockets.delete(plain));
    plain.on('error', () => undefined);
    let socket: net.Socket = plain;
    let pending = '';
    let inData = false;
    const reply = (text: string) => socket.write(text + '\r\n');
    const onData = (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const end = pending.indexOf('\r\n.\r\n');
          if (end < 0) return;
          pending = pending.slice(end + 5);
          inData = false;
          delivered++;
          reply('250 2.6.0 queued');
          continue;
        }
        const eol = pending.indexOf('\r\n');
        if (eol < 0) return;
        const line = pending.slice(0, eol);
        pending = pending.slice(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') reply(socket === plain ? '250-hop.fabrikam.com\r\n250-PIPELINING\r\n250 STARTTLS' : '250-hop.fabrikam.com\r\n250 PIPELINING');
        else if (verb === 'STAR') {
          reply('220 2.0.0 go ahead');
          plain.removeListener('data', onData);
          // No sessionIdContext, a client certificate asked for: OpenSSL refuses any resumption with alert 80.
          const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: context, requestCert: true, rejectUnauthorized: false });
          secure.on('secure', () => full++);
          secure.on('error', () => failed++);
          secure.on('data', onData);
          socket = secure;
          return;
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 go ahead');
        } else if (verb === 'QUIT') {
          reply('221 2.0.0 bye');
          socket.end();
          return;
        } else reply('250 2.1.0 ok');
      }
    };
    plain.on('data', onData);
    reply('220 hop.fabrikam.com ESMTP');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    delivered: () => delivered,
    handshakes: () => ({ full, failed }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

test('a next hop that fails a resumed TLS handshake costs one failed connection; later connections make full handshakes', { timeout: 120_000 }, async () => {
  const pki = await createTestPki();
  const hop = await startHopThatBreaksOnResumption(pem(pki.viaIntermediate).certificate, pem(pki.viaIntermediate).privateKey);
  const s = await startTestServer();
  try {
    await s.api.ok('Set-TransportService', { Identity: 'EX01', TransientFailureRetryInterval: '00:00:01', OutboundConnectionFailureRetryInterval: '00:00:01' });
    await s.api.ok('New-SendConnector', { Name: 'Hop', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: hop.port, DNSRoutingEnabled: false, RequireTLS: true, SmtpMaxMessagesPerConnection: 1 });
    await s.transport.reload();
    for (let i = 1; i <= 4; i++) {
      await submitMessage(s.smtpPort, { messageId: `resume-${i}@contoso.com`, to: 'bob@fabrikam.com' });
      await waitFor(`message ${i} at the next hop`, async () => hop.delivered() === i, 30_000);
    }
    // The first connection's full handshake, one that offered its session and failed, then full handshakes only.
    assert.deepEqual(hop.handshakes(), { full: 4, failed: 1 });
  } finally {
    await s.close();
    await hop.close();
  }
});
