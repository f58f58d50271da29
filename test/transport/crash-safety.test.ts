// kill -9 under load: every message that got a 250 reaches the next hop after
// a restart. Duplicates (delivered, then the crash came before the spool
// forgot the message) are counted and reported; they must be rare.
// Runs the built server (`npm run build` first): a real process to kill.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { AdminApi, freeTcpPort, startServerProcess, tempDir } from '../support/interchange.js';
import { allowAnonymousRelay, RawSmtp, startRecordingSink, waitFor, waitForPort } from '../support/transport-harness.js';

/** One client session after another; records the Message-IDs that got a 250. */
async function loadClient(port: number, prefix: string, acked: Set<string>, stop: { now: boolean }): Promise<void> {
  let n = 0;
  while (!stop.now) {
    let c: RawSmtp | undefined;
    try {
      c = await RawSmtp.connect(port);
      if (!(await c.reply(5000))?.startsWith('220')) break;
      await c.command('EHLO load.test');
      c.write('MAIL FROM:<load@contoso.com>\r\nRCPT TO:<sink@fabrikam.com>\r\nDATA\r\n');
      const r1 = await c.reply(5000);
      const r2 = await c.reply(5000);
      const r3 = await c.reply(5000);
      if (!r1?.startsWith('250') || !r2?.startsWith('250') || !r3?.startsWith('354')) break;
      const id = `${prefix}-${n++}@load.test`;
      c.write(`Message-ID: <${id}>\r\nSubject: load\r\n\r\n${'z'.repeat(76).concat('\r\n').repeat(26)}.\r\n`);
      const final = await c.reply(5000);
      if (final?.startsWith('250')) acked.add(`<${id}>`);
      c.write('QUIT\r\n');
    } catch {
      break;
    } finally {
      c?.close();
    }
  }
}

test('kill -9 during a load; after the restart every acknowledged message reaches the next hop', { timeout: 180_000 }, async (t) => {
  const dataDir = await tempDir('crash');
  const sink = await startRecordingSink();
  const smtpPort = await freeTcpPort();
  let proc = await startServerProcess({ dataDir, serverName: 'EX01', smtpPort, env: { INTERCHANGE_CONFIG_POLL_MS: '100' } });
  try {
    const api = new AdminApi(proc.url, proc.token);
    await allowAnonymousRelay(api, 'EX01\\Default Frontend EX01', smtpPort);
    await api.ok('New-SendConnector', { Name: 'Hop', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false });
    await api.ok('Set-TransportService', { Identity: 'EX01', TransientFailureRetryInterval: '00:00:01', OutboundConnectionFailureRetryInterval: '00:00:01' });
    await new Promise((r) => setTimeout(r, 400));

    const acked = new Set<string>();
    const stop = { now: false };
    const clients = Array.from({ length: 16 }, (_, i) => loadClient(smtpPort, `c${i}`, acked, stop));
    await waitFor('some load', async () => acked.size >= 300, 60_000);
    proc.child.kill('SIGKILL');
    await proc.stop();
    stop.now = true;
    await Promise.all(clients);
    const ackedAtCrash = acked.size;
    const deliveredAtCrash = sink.messages.length;

    proc = await startServerProcess({ dataDir, serverName: 'EX01', smtpPort, env: { INTERCHANGE_CONFIG_POLL_MS: '100' } });
    await waitForPort(smtpPort);
    await waitFor(
      'every acknowledged message at the next hop',
      async () => {
        const seen = new Set(sink.messages.map((m) => m.messageId));
        return [...acked].every((id) => seen.has(id));
      },
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1500));
    const counts = new Map<string, number>();
    for (const m of sink.messages) counts.set(m.messageId!, (counts.get(m.messageId!) ?? 0) + 1);
    const missing = [...acked].filter((id) => !counts.has(id));
    const duplicates = [...counts.values()].filter((c) => c > 1).length;
    const unacknowledgedDelivered = [...counts.keys()].filter((id) => !acked.has(id)).length;
    t.diagnostic(`acknowledged ${ackedAtCrash}, delivered before the crash ${deliveredAtCrash}, delivered in all ${sink.messages.length}, duplicates ${duplicates}, delivered without a 250 (cut off at the crash) ${unacknowledgedDelivered}`);
    assert.deepEqual(missing, [], 'no acknowledged message lost');
    assert.ok(duplicates <= Math.max(5, ackedAtCrash * 0.05), `duplicates must be rare: ${duplicates}`);
  } finally {
    await proc.stop('SIGKILL');
    await sink.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
