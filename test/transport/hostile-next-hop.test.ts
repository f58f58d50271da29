// A next hop is a remote party too: a hostile or broken one must not grow the
// Send connector's memory. Each next hop here is a raw TCP server of the test
// that writes as fast as the client takes it; how much it managed to write
// shows whether the client bounded its reading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { freePort, swaks } from '../support/smtp-tools.js';
import { startTestDns } from '../support/transport-dns.js';
import { startTestServer, waitFor, type TestServer } from '../support/transport-harness.js';

interface HostileHop {
  port: number;
  /** Bytes written to each connection so far, in the order they came. */
  written: number[];
  closed: number;
  stop(): Promise<void>;
}

const CHUNK = 64 * 1024;
/** Far more than any bound of the client: a client that reads all of it holds hundreds of MiB. */
const MOST = 256 * 1024 * 1024;

/** `greeting` first; then, once `after` arrived (or at once), `fill` without end, paced by the socket. */
async function startHostileHop(greeting: string, fill: string, after?: RegExp): Promise<HostileHop> {
  const port = await freePort();
  const chunk = Buffer.from(fill.repeat(Math.ceil(CHUNK / fill.length)));
  const written: number[] = [];
  const sockets = new Set<net.Socket>();
  const hop: HostileHop = { port, written, closed: 0, stop: async () => undefined };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const i = written.push(0) - 1;
    let flooding = false;
    let heard = '';
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      hop.closed++;
    });
    const flood = (): void => {
      if (flooding) return;
      flooding = true;
      const pump = (): void => {
        while (!socket.destroyed && written[i] < MOST) {
          written[i] += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      pump();
    };
    socket.on('data', (d) => {
      heard += d.toString('latin1');
      if (after?.test(heard)) flood();
    });
    socket.write(greeting);
    if (!after) flood();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  hop.stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return hop;
}

/** A smart-host Send connector to the hostile next hop, and a message for it through the Default Frontend. */
async function sendThrough(s: TestServer, port: number, connector: Record<string, unknown> = {}): Promise<void> {
  await s.api.ok('New-SendConnector', { Name: 'Hostile', AddressSpaces: ['fabrikam.test'], SmartHosts: ['127.0.0.1'], Port: port, DNSRoutingEnabled: false, ...connector });
  await s.transport.reload();
  const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'bob@fabrikam.test']);
  assert.equal(r.code, 0, r.stdout);
}

const cases = [
  { name: 'a reply line without end', greeting: '220 ', fill: 'x', after: undefined, error: /^451 4\.4\.0 127\.0\.0\.1 sent a reply longer than 65536 bytes$/ },
  { name: 'an EHLO reply of endless continuation lines', greeting: '220 hostile.test ESMTP\r\n', fill: '250-HOSTILE\r\n', after: /^EHLO /m, error: /^451 4\.4\.0 127\.0\.0\.1 sent a reply longer than 65536 bytes$/ },
];

for (const c of cases) {
  test(`a next hop that sends ${c.name}: the connection fails at 64 KiB of one reply, the message waits in Retry`, { timeout: 60_000 }, async () => {
    const hop = await startHostileHop(c.greeting, c.fill, c.after);
    const s = await startTestServer();
    try {
      await sendThrough(s, hop.port);
      const q = await waitFor('the queue in Retry', async () => (await s.api.ok('Get-Queue', {})).find((x) => x.NextHopDomain === '[127.0.0.1]' && x.Status === 'Retry'), 30_000);
      assert.match(q.LastError ?? '', c.error);
      assert.equal(q.MessageCount, 1, 'the message waits for the next retry');
      await waitFor('the next hop saw the connection closed', async () => hop.closed >= 1);
      // What the client read, and what was still in the sockets' buffers when it closed.
      assert.ok(hop.written[0] < 16 * 1024 * 1024, `the next hop wrote ${hop.written[0]} bytes before the client closed`);
    } finally {
      await s.close();
      await hop.stop();
    }
  });
}

test('a next hop that trickles a reply that never ends: the connection fails at ConnectionInactivityTimeOut, though it is never silent that long', { timeout: 60_000 }, async () => {
  const port = await freePort();
  let connections = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = net.createServer((socket) => {
    connections++;
    socket.on('error', () => undefined);
    // A greeting line every 300 ms: never 2 s of silence, never 64 KiB.
    const t = setInterval(() => socket.write('220-hostile.test\r\n'), 300);
    timers.add(t);
    socket.on('close', () => clearInterval(t));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const s = await startTestServer();
  try {
    const started = Date.now();
    await sendThrough(s, port, { ConnectionInactivityTimeOut: '00:00:02' });
    const q = await waitFor('the queue in Retry', async () => (await s.api.ok('Get-Queue', {})).find((x) => x.NextHopDomain === '[127.0.0.1]' && x.Status === 'Retry'), 30_000);
    assert.equal(q.LastError, '451 4.4.2 Timeout waiting for the remote server');
    assert.ok(Date.now() - started < 15_000, 'failed within the timeout, not at the 64 KiB bound');
    assert.equal(connections, 1);
  } finally {
    await s.close();
    for (const t of timers) clearInterval(t);
    server.close();
  }
});

test('a next hop that floods replies nobody asked for: the client stops reading after 1,000 of them, the peer is held back by TCP', { timeout: 60_000 }, async () => {
  const hop = await startHostileHop('220 hostile.test ESMTP\r\n', '250 ok\r\n');
  const s = await startTestServer();
  try {
    await sendThrough(s, hop.port);
    await waitFor('a connection to the next hop', async () => hop.written.length >= 1);
    // Reading all of it, the client takes several MiB a second; paused, only the sockets' buffers fill.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const total = hop.written.reduce((a, b) => a + b, 0);
    assert.ok(total < 16 * 1024 * 1024, `the next hop wrote ${total} bytes in 3 s over ${hop.written.length} connection(s)`);
  } finally {
    await s.close();
    await hop.stop();
  }
});

test('a recipient domain whose DNS names many mail exchangers: only the first 10 addresses, lowest preference first, are looked up and tried', { timeout: 60_000 }, async () => {
  const mx: Array<{ priority: number; exchange: string }> = [];
  const a: Record<string, string[]> = {};
  // 16 mail exchangers of two addresses each, where nothing listens: each attempt is refused at once.
  for (let i = 1; i <= 16; i++) {
    mx.push({ priority: i, exchange: `m${i}.x.test` });
    a[`m${i}.x.test`] = [`127.0.${i}.1`, `127.0.${i}.2`];
  }
  const dns = await startTestDns({ mx: { 'x.test': mx.reverse() }, a });
  const s = await startTestServer();
  try {
    await s.api.ok('Set-TransportService', { Identity: 'EX01', ExternalDNSServers: [`127.0.0.1:${dns.port}`] });
    await s.api.ok('New-SendConnector', { Name: 'Internet', AddressSpaces: ['x.test'], DNSRoutingEnabled: true, Port: await freePort() });
    await s.transport.reload();
    const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'bob@x.test']);
    assert.equal(r.code, 0, r.stdout);
    const q = await waitFor('the queue in Retry', async () => (await s.api.ok('Get-Queue', {})).find((x) => x.NextHopDomain === 'x.test' && x.Status === 'Retry'), 30_000);
    assert.match(q.LastError ?? '', /^451 4\.4\.0 .*127\.0\.5\.2:/, 'the last address tried is the tenth');
    const looked = dns.queries.filter((x) => x.startsWith('A m')).map((x) => x.slice(2));
    assert.deepEqual([...new Set(looked)], ['m1.x.test', 'm2.x.test', 'm3.x.test', 'm4.x.test', 'm5.x.test']);
  } finally {
    await s.close();
    await dns.stop();
  }
});
