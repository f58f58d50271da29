import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MailQueueStore } from '../../src/transport/queue/index.js';
import { isInterchangeError } from '../../src/errors/interchange-error.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'icx-queue-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function streamToBuffer(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}

test('enqueue stores body and envelope; list, get, readBody, openBody, complete', async () => {
  await withDir(async (dir) => {
    const q = await MailQueueStore.open(dir);
    const body = Buffer.from('Subject: hi\r\n\r\nhello\r\n');
    const receivedAt = new Date('2026-01-02T03:04:05.678Z');
    const m = await q.enqueue({
      from: 'alice@contoso.com',
      recipients: ['bob@fabrikam.com', 'carol@fabrikam.com'],
      body,
      receivedAt,
      sourceConnector: 'EX01\\Default EX01',
      sourceIp: '127.0.0.1',
      internetMessageId: '<x@contoso.com>',
      subject: 'hi',
    });
    assert.equal(m.id, 1);
    assert.equal(m.size, body.length);
    assert.equal(m.status, 'Ready');
    assert.deepEqual(m.pendingRecipients, ['bob@fabrikam.com', 'carol@fabrikam.com']);
    assert.equal(m.expiresAt.getTime(), receivedAt.getTime() + 2 * 86400_000);
    assert.equal(m.sourceConnector, 'EX01\\Default EX01');

    const m2 = await q.enqueue({ from: '', recipients: ['x@y.z'], body: Buffer.from('b') });
    assert.equal(m2.id, 2);
    assert.deepEqual(q.list().map((x) => x.id), [1, 2]);
    assert.deepEqual(await q.readBody(1), body);
    assert.deepEqual(await streamToBuffer(q.openBody(1)), body);
    assert.equal(q.get(2)?.from, '');

    // get() returns copies: changing one does not change the store.
    const copy = q.get(1)!;
    copy.pendingRecipients.push('mallory@evil.example');
    assert.equal(q.get(1)!.pendingRecipients.length, 2);

    await q.complete(1);
    assert.equal(q.get(1), undefined);
    assert.deepEqual(q.list().map((x) => x.id), [2]);
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('1.')), []);
    await assert.rejects(q.readBody(1), (e) => isInterchangeError(e) && e.code === 'ICX_MESSAGE_NOT_FOUND');
    await assert.rejects(() => q.update(1, { status: 'Retry' }), (e) => isInterchangeError(e) && e.code === 'ICX_MESSAGE_NOT_FOUND');
    await assert.rejects(q.enqueue({ from: 'a@b.c', recipients: [], body: Buffer.from('x') }));
    await q.close();
    await assert.rejects(q.enqueue({ from: 'a@b.c', recipients: ['d@e.f'], body: Buffer.from('x') }), (e) => isInterchangeError(e) && e.code === 'ICX_TRANSPORT_STOPPED');
  });
});

test('restart replays messages with their latest metadata, and ids keep increasing', async () => {
  await withDir(async (dir) => {
    let q = await MailQueueStore.open(dir);
    const a = await q.enqueue({ from: 'a@contoso.com', recipients: ['r1@f.com', 'r2@f.com'], body: Buffer.from('one') });
    const b = await q.enqueue({ from: 'b@contoso.com', recipients: ['r3@f.com'], body: Buffer.from('two') });
    const next = new Date('2026-05-01T00:00:00.000Z');
    await q.update(a.id, {
      status: 'Retry',
      attempts: 3,
      nextAttemptAt: next,
      lastError: '451 4.4.0 Primary target IP address responded with: "421 4.2.1 Unable to connect."',
      pendingRecipients: ['r2@f.com'],
      deliveredRecipients: ['r1@f.com'],
      queueIdentity: 'fabrikam.com',
    });
    await q.update(b.id, { status: 'Active' });
    await q.close();

    q = await MailQueueStore.open(dir);
    const ra = q.get(a.id)!;
    assert.equal(ra.status, 'Retry');
    assert.equal(ra.attempts, 3);
    assert.equal(ra.nextAttemptAt?.toISOString(), next.toISOString());
    assert.deepEqual(ra.pendingRecipients, ['r2@f.com']);
    assert.deepEqual(ra.deliveredRecipients, ['r1@f.com']);
    assert.equal(ra.queueIdentity, 'fabrikam.com');
    assert.match(ra.lastError!, /Unable to connect/);
    // Nothing is in delivery right after a start.
    assert.equal(q.get(b.id)!.status, 'Ready');
    assert.deepEqual(await q.readBody(b.id), Buffer.from('two'));

    // Deliver everything, restart: ids must not be reused (they are Exchange MessageIntegers).
    await q.complete(a.id);
    await q.complete(b.id);
    await q.close();
    q = await MailQueueStore.open(dir);
    assert.deepEqual(q.list(), []);
    const c = await q.enqueue({ from: 'c@contoso.com', recipients: ['r@f.com'], body: Buffer.from('three') });
    assert.ok(c.id > b.id, `id ${c.id} after ${b.id}`);
    await q.close();
  });
});

test('replay removes half-written files and quarantines inconsistent ones', async () => {
  await withDir(async (dir) => {
    const q = await MailQueueStore.open(dir);
    const good = await q.enqueue({ from: 'a@contoso.com', recipients: ['r@f.com'], body: Buffer.from('good body') });
    const bad = await q.enqueue({ from: 'a@contoso.com', recipients: ['r@f.com'], body: Buffer.from('will be truncated') });
    await q.update(good.id, { attempts: 1 });
    await q.close();

    // A crash during enqueue of 50: body written, metadata never renamed.
    await writeFile(path.join(dir, '50.body'), 'partial');
    await writeFile(path.join(dir, '50.meta.tmp'), '{"v":1,"id":');
    // A crash during an update of the good message: the new metadata never got renamed.
    await writeFile(path.join(dir, `${good.id}.meta.tmp`), '{"v":1,"id":1,"status":"Suspe');
    // A crash inside complete() of 40, between the two unlinks.
    await writeFile(path.join(dir, '40.body'), 'delivered already');
    // Disk trouble: a body shorter than its metadata says.
    await writeFile(path.join(dir, `${bad.id}.body`), 'short');

    const q2 = await MailQueueStore.open(dir);
    assert.deepEqual(q2.list().map((m) => m.id), [good.id]);
    assert.equal(q2.get(good.id)!.attempts, 1);
    assert.deepEqual(await q2.readBody(good.id), Buffer.from('good body'));
    const names = (await readdir(dir)).sort();
    assert.deepEqual(names, [`${good.id}.body`, `${good.id}.meta`, 'corrupt', 'next-id'].sort());
    assert.deepEqual((await readdir(path.join(dir, 'corrupt'))).sort(), [`${bad.id}.body`, `${bad.id}.meta`]);
    // Ids continue after everything that was ever on disk, including the orphans.
    const n = await q2.enqueue({ from: 'a@contoso.com', recipients: ['r@f.com'], body: Buffer.from('x') });
    assert.ok(n.id > 50);
    await q2.close();
  });
});

test('streamed bodies are stored whole; a failing stream leaves nothing behind', async () => {
  await withDir(async (dir) => {
    const q = await MailQueueStore.open(dir);
    const parts = [Buffer.from('Subject: s\r\n'), Buffer.from('\r\n'), Buffer.alloc(200_000, 'z'), Buffer.from('\r\n')];
    async function* gen(): AsyncIterable<Buffer> {
      for (const p of parts) {
        await new Promise((r) => setImmediate(r));
        yield p;
      }
    }
    const m = await q.enqueue({ from: 'a@b.c', recipients: ['d@e.f'], body: gen() });
    assert.equal(m.size, Buffer.concat(parts).length);
    assert.deepEqual(await q.readBody(m.id), Buffer.concat(parts));
    assert.deepEqual(await streamToBuffer(q.openBody(m.id)), Buffer.concat(parts));
    // The file holds the message and then its trailer (metadata and checksum).
    assert.ok((await stat(path.join(dir, `${m.id}.body`))).size > m.size);

    async function* broken(): AsyncIterable<Buffer> {
      yield Buffer.from('Subject: half\r\n');
      throw new Error('client disconnected mid-DATA');
    }
    await assert.rejects(q.enqueue({ from: 'a@b.c', recipients: ['d@e.f'], body: broken() }), /mid-DATA/);
    assert.deepEqual(q.list().map((x) => x.id), [m.id]);
    const names = (await readdir(dir)).filter((n) => /^\d+\./.test(n)).sort();
    assert.deepEqual(names, [`${m.id}.body`, `${m.id}.meta`]);
    await q.close();
  });
});

test('concurrent enqueues and updates: distinct ids, all durable, last update wins', async () => {
  await withDir(async (dir) => {
    const q = await MailQueueStore.open(dir);
    const msgs = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        q.enqueue({ from: `s${i}@contoso.com`, recipients: [`r${i}@f.com`], body: Buffer.from(`body ${i}`) }),
      ),
    );
    assert.equal(new Set(msgs.map((m) => m.id)).size, 300);
    const target = msgs[0].id;
    await Promise.all([1, 2, 3, 4, 5].map((n) => q.update(target, { attempts: n })));
    assert.equal(q.get(target)!.attempts, 5);
    // An update racing a completion must not resurrect the message.
    const victim = msgs[1].id;
    const racing = q.update(victim, { status: 'Retry' });
    await q.complete(victim);
    await racing;
    await q.close();

    const q2 = await MailQueueStore.open(dir);
    assert.equal(q2.list().length, 299);
    assert.equal(q2.get(victim), undefined);
    assert.equal(q2.get(target)!.attempts, 5);
    for (const m of msgs.slice(2)) {
      assert.equal((await q2.readBody(m.id)).toString(), `body ${m.from.slice(1, m.from.indexOf('@'))}`);
    }
    await q2.close();
    assert.match(await readFile(path.join(dir, 'next-id'), 'utf8'), /^\d+\n$/);
  });
});

test('replay restores a message from its body trailer when the .meta is missing or unreadable, and drops torn bodies', async () => {
  await withDir(async (dir) => {
    const q = await MailQueueStore.open(dir);
    const a = await q.enqueue({ from: 'a@contoso.com', recipients: ['r1@f.com', 'r2@f.com'], body: Buffer.from('alpha body'), subject: 'alpha', sourceIp: '192.0.2.1' });
    const b = await q.enqueue({ from: 'b@contoso.com', recipients: ['r3@f.com'], body: Buffer.from('bravo body') });
    const c = await q.enqueue({ from: 'c@contoso.com', recipients: ['r4@f.com'], body: Buffer.from('charlie body') });
    const e = await q.enqueue({ from: '', recipients: ['r5@f.com'], body: Buffer.alloc(0) });
    await q.close();
    // a: crash before its .meta reached the disk. b: .meta torn (zero-filled). c: body torn in the middle, no .meta.
    await rm(path.join(dir, `${a.id}.meta`));
    await writeFile(path.join(dir, `${b.id}.meta`), Buffer.alloc(64));
    const cBody = await readFile(path.join(dir, `${c.id}.body`));
    cBody[2] ^= 0xff;
    await writeFile(path.join(dir, `${c.id}.body`), cBody);
    await rm(path.join(dir, `${c.id}.meta`));
    // An orphan .meta whose body complete() already removed.
    await writeFile(path.join(dir, '77.meta'), '{"v":1}');

    const q2 = await MailQueueStore.open(dir);
    assert.deepEqual(q2.list().map((m) => m.id), [a.id, b.id, e.id]);
    const ra = q2.get(a.id)!;
    assert.deepEqual([ra.from, ra.recipients, ra.subject, ra.sourceIp, ra.size], ['a@contoso.com', ['r1@f.com', 'r2@f.com'], 'alpha', '192.0.2.1', 10]);
    assert.deepEqual(await q2.readBody(a.id), Buffer.from('alpha body'));
    assert.deepEqual(await q2.readBody(b.id), Buffer.from('bravo body'));
    assert.deepEqual(await q2.readBody(e.id), Buffer.alloc(0));
    assert.deepEqual(await streamToBuffer(q2.openBody(e.id)), Buffer.alloc(0));
    const names = (await readdir(dir)).sort();
    assert.deepEqual(names, [`${a.id}.body`, `${a.id}.meta`, `${b.id}.body`, `${b.id}.meta`, `${e.id}.body`, `${e.id}.meta`, 'next-id'].sort());
    await q2.close();
  });
});

test('marking a message Active is not written to disk (replay makes it Ready); every other change is', async () => {
  await withDir(async (dir) => {
    const q = await MailQueueStore.open(dir);
    const m = await q.enqueue({ from: 'a@contoso.com', recipients: ['r@f.com'], body: Buffer.from('x') });
    const before = await readFile(path.join(dir, `${m.id}.meta`), 'utf8');
    assert.equal((await q.update(m.id, { status: 'Active' })).status, 'Active');
    assert.equal(q.get(m.id)!.status, 'Active');
    assert.equal(await readFile(path.join(dir, `${m.id}.meta`), 'utf8'), before);
    await q.update(m.id, { status: 'Suspended' });
    assert.match(await readFile(path.join(dir, `${m.id}.meta`), 'utf8'), /"status":"Suspended"/);
    await q.close();
  });
});
