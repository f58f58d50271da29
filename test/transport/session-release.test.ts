// A session that has ended must not stay in memory: at thousands of sessions a second, anything
// that keeps a closed session for a few seconds (a timer, a listener) keeps tens of thousands of
// them, and the collector marks them all over and over. Checked with weak references and a
// forced collection, against a real server and real sockets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { RawSmtp, startTestServer } from '../support/transport-harness.js';

v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;

test('sessions that ended (QUIT, or the client hanging up) are collectable at once, not kept for the socket cleanup timer', async () => {
  const s = await startTestServer();
  try {
    const sessionsOf = () => (s.transport as unknown as { listeners: { sessions: Set<object> } }).listeners.sessions;
    const clients: RawSmtp[] = [];
    for (let i = 0; i < 16; i++) {
      const c = await RawSmtp.connect(s.smtpPort);
      assert.match((await c.reply()) ?? '', /^220 /);
      assert.match((await c.command('EHLO client.contoso.com')) ?? '', /^250/);
      clients.push(c);
    }
    assert.equal(sessionsOf().size, 16, "the 16 sessions are open (Exchange allows 20 per source)");
    const refs = [...sessionsOf()].map((x) => new WeakRef(x));
    // Half say QUIT and wait for the 221; the other half hang up without a word.
    for (const [i, c] of clients.entries()) {
      if (i % 2 === 0) assert.match((await c.command('QUIT')) ?? '', /^221 /);
      c.close();
    }
    const deadline = Date.now() + 2000;
    while (sessionsOf().size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(sessionsOf().size, 0, 'every session ended');
    // Well inside the 5 s a closed socket is given before it is destroyed.
    let alive = refs.length;
    for (let round = 0; round < 20 && alive > 0; round++) {
      await new Promise((r) => setTimeout(r, 50));
      collect();
      alive = refs.filter((r) => r.deref() !== undefined).length;
    }
    assert.equal(alive, 0, `${alive} of 16 ended sessions are still reachable`);
  } finally {
    await s.close();
  }
});
