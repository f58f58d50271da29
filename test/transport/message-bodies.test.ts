// What a send holds in memory (message-bodies.ts): a body kept from its receipt
// while there is room, read whole or streamed from a real spool otherwise, the
// memory budget taken and given back per send, and a buffer back in the pool
// only once nothing keeps or writes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MessageBodies } from '../../src/transport/delivery/message-bodies.js';
import { MailQueueStore } from '../../src/transport/queue/index.js';
import { BodyBuffers } from '../../src/transport/service/body-buffers.js';
import { MessageMemoryBudget } from '../../src/transport/service/message-memory-budget.js';
import type { SpooledBody } from '../../src/transport/outbound/smtp-client.js';

async function withStore(run: (store: MailQueueStore) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'icx-bodies-'));
  const store = await MailQueueStore.open(dir);
  try {
    await run(store);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const filled = (pool: BodyBuffers, n: number, c: string): Buffer => pool.take(n).fill(c);

test('a kept body: each send leases the same buffer; it goes back to the pool only when forgotten and no send is writing it', async () => {
  await withStore(async (store) => {
    const pool = new BodyBuffers(64 * 1024 * 1024);
    const bodies = new MessageBodies({ store, bodyBuffers: pool });
    const body = filled(pool, 100_000, 'a');
    bodies.keep(7, body);
    const first = await bodies.lease(7, body.length);
    const second = await bodies.lease(7, body.length);
    assert.equal(first.body, body);
    assert.equal(second.body, body);
    first.end();
    first.sent();
    assert.equal(pool.kept, 0, 'still kept for the message: not given back');
    bodies.forget(7);
    first.sent();
    assert.equal(pool.kept, 0, 'the second send is still writing it');
    second.end();
    second.end();
    second.sent();
    assert.ok(pool.kept > 0, 'forgotten and written: back in the pool');
    assert.equal(pool.take(100_000).buffer, body.buffer);
  });
});

test('keep: past 16 MiB of kept bodies a body goes straight back to the pool; forget frees room for the next', async () => {
  await withStore(async (store) => {
    const pool = new BodyBuffers(64 * 1024 * 1024);
    const bodies = new MessageBodies({ store, bodyBuffers: pool });
    const mib = 1024 * 1024;
    for (let id = 1; id <= 16; id++) bodies.keep(id, filled(pool, mib, 'k'));
    assert.equal(pool.kept, 0);
    const extra = filled(pool, mib, 'x');
    bodies.keep(17, extra);
    assert.equal(pool.kept, mib, 'no room: given back at once');
    bodies.forget(1);
    const again = filled(pool, mib, 'y');
    bodies.keep(18, again);
    assert.equal(pool.kept, 0, 'kept in the room forget made');
    assert.equal((await bodies.lease(18, mib)).body, again);
  });
});

test('a body not kept: read whole from the spool under the memory budget, or streamed past a megabyte; the budget goes back at end()', async () => {
  await withStore(async (store) => {
    const pool = new BodyBuffers(64 * 1024 * 1024);
    const memory = new MessageMemoryBudget();
    const bodies = new MessageBodies({ store, bodyBuffers: pool, messageMemory: memory });
    const small = Buffer.from('Subject: small\r\n\r\n' + 'line\r\n'.repeat(1000));
    const large = Buffer.from('Subject: large\r\n\r\n' + `${'z'.repeat(98)}\r\n`.repeat(30_000));
    const a = await store.enqueue({ from: 'alice@contoso.com', recipients: ['bob@fabrikam.com'], body: small });
    const b = await store.enqueue({ from: 'alice@contoso.com', recipients: ['bob@fabrikam.com'], body: large });

    const whole = await bodies.lease(a.id, a.size);
    assert.ok(Buffer.isBuffer(whole.body));
    assert.ok(whole.body.equals(small));
    assert.equal(memory.used, small.length, 'the budget holds the body while it is sent');
    whole.end();
    whole.end();
    assert.equal(memory.used, 0);
    whole.sent();
    assert.ok(pool.kept > 0, 'the buffer read for the send serves the next body');

    const streamed = await bodies.lease(b.id, b.size);
    assert.ok(!Buffer.isBuffer(streamed.body));
    const spooled = streamed.body as SpooledBody;
    assert.equal(spooled.length, large.length);
    assert.ok(spooled.head.length <= 1024 * 1024 && large.subarray(0, spooled.head.length).equals(spooled.head));
    assert.ok(memory.used > 0 && memory.used < large.length, `a streamed send holds ${memory.used} bytes of budget, not the whole body`);
    const chunks: Buffer[] = [];
    for await (const c of spooled.chunks()) chunks.push(c);
    assert.ok(Buffer.concat(chunks).equals(large));
    streamed.end();
    assert.equal(memory.used, 0);

    assert.ok((await bodies.head(b.id)).equals(large.subarray(0, 1024 * 1024)), 'a report quotes the first megabyte at most');
    assert.equal((await bodies.head(999)).length, 0, 'a message gone from the spool has no head');
  });
});
