// Hostile DATA: what an attacker sends after 354. Smuggling payloads, overlong
// lines and headers against a server and a recording next hop; and ten
// concurrent 34 MiB messages of dot lines against the built server process,
// whose peak resident memory is read from /proc while ordinary mail goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { AdminApi, freeTcpPort, startServerProcess, tempDir } from '../support/interchange.js';
import { allowAnonymousRelay, RawSmtp, startRecordingSink, startTestServer, waitFor } from '../support/transport-harness.js';

/** Opens a session and gets to 354; returns the client. */
async function toData(port: number, from = 'sender@contoso.com', to = 'sink@fabrikam.com'): Promise<RawSmtp> {
  const c = await RawSmtp.connect(port);
  assert.match((await c.reply()) ?? '', /^220 /);
  assert.match((await c.command('EHLO client.test')) ?? '', /^250/);
  assert.match((await c.command(`MAIL FROM:<${from}>`)) ?? '', /^250 /);
  assert.match((await c.command(`RCPT TO:<${to}>`)) ?? '', /^250 /);
  assert.match((await c.command('DATA')) ?? '', /^354 /);
  return c;
}

test('smuggling payloads, long lines and oversized headers are refused; the next hop gets only what was accepted', { timeout: 120_000 }, async () => {
  const s = await startTestServer();
  const sink = await startRecordingSink();
  try {
    await s.api.ok('New-SendConnector', { Name: 'Hop', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false });
    // The running transport must route by this connector before the first message (its poll may lag on a loaded machine),
    // and a first delivery attempt that times out under load must be retried within the wait below.
    await s.api.ok('Set-TransportService', { Identity: 'EX01', TransientFailureRetryInterval: '00:00:01', OutboundConnectionFailureRetryInterval: '00:00:01' });
    await s.transport.reload();
    // The published endings of CVE-2023-51764/51765/51766 and their mixes: a lenient reader ends the data there
    // and takes what follows as a second, smuggled transaction.
    const fakes = ['\n.\n', '\r.\r', '\r\n.\r', '\n.\r\n', '\r.\n', '\r.\r\n', '\n.\r', '\r\n.\n', 'x\n.\r\n', '\r\n\r.\r\n'];
    const smuggled = 'MAIL FROM:<ceo@contoso.com>\r\nRCPT TO:<victim@fabrikam.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n';
    for (const [i, fake] of fakes.entries()) {
      const c = await toData(s.smtpPort);
      c.write(`Subject: carrier ${i}\r\n\r\ncarrier${fake}${smuggled}\r\n.\r\n`);
      const reply = (await c.reply()) ?? '';
      assert.match(reply, /^550 5\.6\.11 Bare (line feed|carriage return) characters are not allowed/, JSON.stringify(fake));
      // The session goes on with what follows the real terminator only.
      assert.match((await c.command('MAIL FROM:<sender@contoso.com>')) ?? '', /^250 /, `after ${JSON.stringify(fake)} the session is in command state`);
      assert.match((await c.command('RCPT TO:<sink@fabrikam.com>')) ?? '', /^250 /);
      assert.match((await c.command('DATA')) ?? '', /^354 /);
      c.write(`Subject: honest ${i}\r\n\r\nhonest\r\n.\r\n`);
      assert.match((await c.reply()) ?? '', /^250 /);
      await c.command('QUIT');
      c.close();
    }
    // Lines over RFC 5321's 1000 octets (10 KB, 1 MB) and a header section over MaxHeaderSize (256 KB).
    const refused: Array<[string, string | Buffer, RegExp]> = [
      ['10 KB line', `Subject: long\r\n\r\n${'a'.repeat(10_000)}\r\n`, /^550 5\.6\.0 .*1000 octets/],
      ['1 MB line', `Subject: long\r\n\r\n${'b'.repeat(1_000_000)}\r\n`, /^550 5\.6\.0 .*1000 octets/],
      ['header of 300 KB', `${Array.from({ length: 3000 }, (_, i) => `X-Filler-${i}: ${'h'.repeat(80)}\r\n`).join('')}\r\nbody\r\n`, /^552 5\.3\.4 Header size exceeds fixed maximum size$/],
    ];
    for (const [what, content, reply] of refused) {
      const c = await toData(s.smtpPort);
      c.write(content);
      c.write('.\r\n');
      assert.match((await c.reply()) ?? '', reply, what);
      c.close();
    }
    // A line of exactly 1000 octets with its CRLF passes.
    const c = await toData(s.smtpPort);
    c.write(`Subject: edge\r\n\r\n${'c'.repeat(998)}\r\n.\r\n`);
    assert.match((await c.reply()) ?? '', /^250 /);
    c.close();

    await waitFor('the accepted messages at the next hop', async () => sink.messages.length >= fakes.length + 1, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sink.messages.length, fakes.length + 1, 'only the honest messages and the 998-octet line arrive');
    for (const m of sink.messages) {
      assert.doesNotMatch(m.raw, /smuggled|carrier/, 'no part of a refused message reaches the next hop');
      assert.deepEqual(m.to, ['sink@fabrikam.com']);
    }
    assert.ok(sink.messages.some((m) => m.raw.includes(`${'c'.repeat(998)}\r\n`)));
    assert.equal((await s.api.ok('Get-Message', {})).length, 0, 'nothing left in the queue');
  } finally {
    await sink.stop();
    await s.close();
  }
});

const MiB = 1024 * 1024;

/** Sends one message of `..` lines of `wireBytes` after DATA, as fast as the server reads; returns the final reply. */
async function dotLineMessage(port: number, wireBytes: number): Promise<string> {
  const c = await toData(port, 'attacker@tailspintoys.com', 'victim@fabrikam.com');
  const block = Buffer.from('..\r\n'.repeat(16 * 1024), 'latin1');
  let sent = 0;
  c.write('Subject: dots\r\n\r\n');
  while (sent < wireBytes) {
    const chunk = block.subarray(0, Math.min(block.length, wireBytes - sent));
    sent += chunk.length;
    if (!c.socket.write(chunk)) await new Promise((r) => c.socket.once('drain', r));
    if (c.closed) return 'closed';
  }
  c.write('.\r\n');
  const reply = (await c.reply(600_000)) ?? 'closed';
  c.close();
  return reply;
}

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

test('ten concurrent 34 MiB messages of dot lines: the server stays up under 300 MiB peak RSS and ordinary mail flows meanwhile', { timeout: 600_000 }, async (t) => {
  const dataDir = await tempDir('hostile');
  const sink = await startRecordingSink();
  const smtpPort = await freeTcpPort();
  const proc = await startServerProcess({ dataDir, serverName: 'EX01', smtpPort, env: { INTERCHANGE_CONFIG_POLL_MS: '100' } });
  try {
    const api = new AdminApi(proc.url, proc.token);
    // 34 MiB is over the organization's default MaxReceiveSize (10 MB): the connector's MaxMessageSize is what this test is about.
    // Set first, so that the wait for the relay grant also waits for the reload that brings it.
    await api.ok('Set-TransportConfig', { MaxSendSize: 'Unlimited', MaxReceiveSize: 'Unlimited' });
    await allowAnonymousRelay(api, 'EX01\\Default Frontend EX01', smtpPort);
    await api.ok('New-SendConnector', { Name: 'Hop', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false });
    const [connector] = await api.ok('Get-ReceiveConnector', { Identity: 'EX01\\Default Frontend EX01' });
    t.diagnostic(`MaxMessageSize ${JSON.stringify(connector.MaxMessageSize)}`);
    const before = peakRssMiB(proc.child.pid!);

    const attack = Array.from({ length: 10 }, () => dotLineMessage(smtpPort, 34 * MiB));
    // Ordinary mail from another client while the attack is under way.
    const ordinary: string[] = [];
    let attackOver = false;
    const attackDone = Promise.all(attack).finally(() => (attackOver = true));
    let sentDuringAttack = 0;
    while (!attackOver) {
      const c = await toData(smtpPort);
      c.write(`Subject: ordinary ${ordinary.length}\r\nMessage-ID: <ordinary-${ordinary.length}@contoso.com>\r\n\r\nhello\r\n.\r\n`);
      const reply = (await c.reply(120_000)) ?? 'closed';
      ordinary.push(reply);
      if (!attackOver) sentDuringAttack++;
      c.close();
      await new Promise((r) => setTimeout(r, 200));
    }
    const replies = await attackDone;
    const peak = peakRssMiB(proc.child.pid!);
    const accepted = replies.filter((r) => r.startsWith('250')).length;
    t.diagnostic(`attack replies: ${replies.map((r) => r.slice(0, 9)).join(', ')}; ordinary messages during the attack ${sentDuringAttack}, replies ${[...new Set(ordinary.map((r) => r.slice(0, 3)))].join(',')}; peak RSS ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB after`);
    assert.equal(proc.child.exitCode, null, 'the server is up');
    for (const r of replies) assert.match(r, /^(250 |452 4\.3\.1 Insufficient system resources)/);
    assert.ok(sentDuringAttack >= 1, 'ordinary mail was sent during the attack');
    for (const r of ordinary) assert.match(r, /^250 /, 'every ordinary message is accepted');
    assert.ok(peak < 300, `peak RSS ${peak.toFixed(0)} MiB`);

    // What got a 250 arrives whole; what got 452 never does, and nothing is left half-accepted in the queue.
    await waitFor('delivery of every accepted message', async () => sink.messages.length >= ordinary.length + accepted, 300_000);
    await waitFor('an empty queue', async () => (await api.ok('Get-Message', {})).length === 0, 60_000);
    const dots = sink.messages.filter((m) => m.to[0] === 'victim@fabrikam.com');
    assert.equal(dots.length, accepted);
    const content = 34 * MiB * 0.75;
    for (const m of dots) assert.ok(m.raw.endsWith('.\r\n'.repeat(100)) && m.raw.length >= content, `a dot-line message arrives whole (${m.raw.length} bytes)`);
    assert.equal(sink.messages.filter((m) => m.to[0] === 'sink@fabrikam.com').length, ordinary.length);
    assert.ok(peakRssMiB(proc.child.pid!) < 300, `peak RSS after delivery ${peakRssMiB(proc.child.pid!).toFixed(0)} MiB`);
  } finally {
    await proc.stop();
    await sink.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
