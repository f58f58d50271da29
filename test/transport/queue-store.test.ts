import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MailQueueStore } from '../../src/transport/queue/index.js';
import { writeBodyFile } from '../../src/transport/queue/body-file.js';
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

test('replay stops at a write the crash cut short; a segment damaged in the middle is read around the damage and a copy kept', async () => {
  await withDir(async (dir) => {
    let q = await MailQueueStore.open(dir);
    const good = await q.enqueue({ from: 'a@contoso.com', recipients: ['r@f.com'], body: Buffer.from('good body') });
    await q.update(good.id, { attempts: 1 });
    const last = await q.enqueue({ from: 'a@contoso.com', recipients: ['r@f.com'], body: Buffer.from('the last one, cut off') });
    await q.close();
    const [seg] = (await readdir(dir)).filter((n) => n.startsWith('seg-'));
    const file = path.join(dir, seg);
    // A crash in the middle of writing the last record: it never got its 250.
    const whole = await readFile(file);
    await writeFile(file, whole.subarray(0, whole.length - 7));
    // And a metadata write that never reached its rename.
    await writeFile(path.join(dir, 'next-id.tmp'), '9');

    q = await MailQueueStore.open(dir);
    assert.deepEqual(q.list().map((m) => m.id), [good.id]);
    assert.equal(q.get(good.id)!.attempts, 1);
    assert.equal(q.get(last.id), undefined);
    assert.deepEqual(await q.readBody(good.id), Buffer.from('good body'));
    // Ids continue after everything that was ever on disk, the cut-off record included.
    const n = await q.enqueue({ from: 'a@contoso.com', recipients: ['r@f.com'], body: Buffer.from('x') });
    assert.ok(n.id > last.id);
    const after = await q.enqueue({ from: 'a@contoso.com', recipients: ['r@f.com'], body: Buffer.from('after the damage') });
    const oneMore = await q.enqueue({ from: 'a@contoso.com', recipients: ['r@f.com'], body: Buffer.from('one more record') });
    await q.update(n.id, { attempts: 3 });
    await q.close();
    assert.ok(!(await readdir(dir)).some((x) => x.endsWith('.tmp')));
    assert.ok(!(await readdir(dir)).includes('corrupt'));

    // Damage in the middle (a flipped byte in a record with records after it): the damaged
    // record is lost, the ones before and after it are read, the segment is copied to corrupt/
    // for a human (disk trouble is not a crash), and the store says so.
    const segs = (await readdir(dir)).filter((x) => x.startsWith('seg-')).sort();
    const newest = path.join(dir, segs.at(-1)!);
    const data = await readFile(newest);
    const at = data.indexOf('after the damage');
    data[at] ^= 0xff;
    // The damaged record's length too, so reading on cannot simply skip it by its own header.
    const recordStart = data.lastIndexOf(Buffer.from('ICXR'), at);
    data.writeUInt32LE(data.readUInt32LE(recordStart + 8) + 1000, recordStart + 8);
    await writeFile(newest, data);
    const reports: Array<{ segment: string; offsets: number[] }> = [];
    q = await MailQueueStore.open(dir, { onDamage: (segment, damaged) => reports.push({ segment, offsets: damaged.map((d) => d.offset) }) });
    assert.deepEqual(q.list().map((m) => m.id), [good.id, n.id, oneMore.id]);
    assert.equal(q.get(after.id), undefined);
    assert.equal(q.get(n.id)!.attempts, 3, 'an update written after the damage is read');
    assert.deepEqual(await q.readBody(oneMore.id), Buffer.from('one more record'));
    assert.deepEqual(reports, [{ segment: path.basename(newest), offsets: [recordStart] }]);
    assert.equal((await readdir(path.join(dir, 'corrupt'))).length, 1);
    await q.close();
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

    async function* broken(): AsyncIterable<Buffer> {
      yield Buffer.from('Subject: half\r\n');
      throw new Error('client disconnected mid-DATA');
    }
    await assert.rejects(q.enqueue({ from: 'a@b.c', recipients: ['d@e.f'], body: broken() }), /mid-DATA/);
    assert.deepEqual(q.list().map((x) => x.id), [m.id]);
    await q.close();
    const again = await MailQueueStore.open(dir);
    assert.deepEqual(again.list().map((x) => x.id), [m.id]);
    await again.close();
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

test('a spool of the earlier file-per-message layout is taken over: its messages stay, torn ones go, the old files are removed', async () => {
  await withDir(async (dir) => {
    const legacyBody = async (id: number, body: string, meta: Record<string, unknown>) => {
      const doc = { v: 1, id, from: 'a@contoso.com', recipients: ['r1@f.com'], pendingRecipients: ['r1@f.com'], size: Buffer.byteLength(body), receivedAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-03T00:00:00.000Z', status: 'Ready', attempts: 0, ...meta };
      await writeBodyFile(path.join(dir, `${id}.body`), Buffer.from(body), () => doc);
      return doc;
    };
    // 3: never changed state (no .meta). 4: changed state. 5: torn body, no .meta (never acknowledged).
    await legacyBody(3, 'alpha body', { subject: 'alpha' });
    const d4 = await legacyBody(4, 'bravo body', {});
    await writeFile(path.join(dir, '4.meta'), JSON.stringify({ ...d4, status: 'Retry', attempts: 2, lastError: '451 4.4.0 test' }));
    await legacyBody(5, 'charlie body', {});
    const c = await readFile(path.join(dir, '5.body'));
    c[2] ^= 0xff;
    await writeFile(path.join(dir, '5.body'), c);
    await writeFile(path.join(dir, '9.meta'), '{"v":1}');

    const q = await MailQueueStore.open(dir);
    assert.deepEqual(q.list().map((m) => m.id), [3, 4]);
    assert.equal(q.get(3)!.subject, 'alpha');
    assert.deepEqual([q.get(4)!.status, q.get(4)!.attempts, q.get(4)!.lastError], ['Retry', 2, '451 4.4.0 test']);
    assert.deepEqual(await q.readBody(3), Buffer.from('alpha body'));
    assert.deepEqual(await q.readBody(4), Buffer.from('bravo body'));
    assert.ok((await q.enqueue({ from: '', recipients: ['x@y.z'], body: Buffer.from('new') })).id > 9);
    await q.close();
    assert.deepEqual((await readdir(dir)).filter((n) => /\.(body|meta)$/.test(n)), []);
    const q2 = await MailQueueStore.open(dir);
    assert.equal(q2.list().length, 3);
    await q2.close();
  });
});

test('segments are deleted once delivered, and a long-lived message is copied forward so old segments do not pile up', async () => {
  await withDir(async (dir) => {
    const q = await MailQueueStore.open(dir, { segmentBytes: 16 * 1024 });
    const body = Buffer.alloc(3000, 'b');
    const keeper = await q.enqueue({ from: 'k@contoso.com', recipients: ['r@f.com'], body: Buffer.from('kept for days') });
    await q.update(keeper.id, { status: 'Suspended' });
    let maxSegments = 0;
    for (let i = 0; i < 120; i++) {
      const m = await q.enqueue({ from: 'a@contoso.com', recipients: ['r@f.com'], body });
      await q.complete(m.id);
      maxSegments = Math.max(maxSegments, (await readdir(dir)).filter((n) => n.startsWith('seg-')).length);
    }
    // 120 x 3 KB through 16 KB segments is more than 20 segments' worth; only a few ever exist at once.
    assert.ok(maxSegments <= 6, `at most ${maxSegments} segments at once`);
    assert.deepEqual(q.list().map((m) => m.id), [keeper.id]);
    await q.close();
    const again = await MailQueueStore.open(dir, { segmentBytes: 16 * 1024 });
    assert.deepEqual(again.list().map((m) => [m.id, m.status]), [[keeper.id, 'Suspended']]);
    assert.deepEqual(await again.readBody(keeper.id), Buffer.from('kept for days'));
    await again.close();
  });
});

test('marking a message Active is not written to disk (replay makes it Ready); every other change is', async () => {
  await withDir(async (dir) => {
    const q = await MailQueueStore.open(dir);
    const m = await q.enqueue({ from: 'a@contoso.com', recipients: ['r@f.com'], body: Buffer.from('x') });
    const spoolBytes = async () => {
      let n = 0;
      for (const f of (await readdir(dir)).filter((x) => x.startsWith('seg-'))) n += (await stat(path.join(dir, f))).size;
      return n;
    };
    const before = await spoolBytes();
    assert.equal((await q.update(m.id, { status: 'Active' })).status, 'Active');
    assert.equal(q.get(m.id)!.status, 'Active');
    assert.equal(await spoolBytes(), before);
    await q.update(m.id, { status: 'Suspended' });
    assert.ok((await spoolBytes()) > before);
    await q.close();
  });
});

test('large messages waiting in Retry are not copied forward again and again while other mail flows; the disk stays bounded by what is live', async () => {
  await withDir(async (dir) => {
    const segmentBytes = 16 * 1024;
    const q = await MailQueueStore.open(dir, { segmentBytes });
    const big = Buffer.alloc(14 * 1024, 'B');
    const waiting = [];
    for (let i = 0; i < 6; i++) waiting.push(await q.enqueue({ from: 'big@contoso.com', recipients: ['r@f.com'], body: big }));
    let maxSegments = 0;
    const small = Buffer.alloc(2000, 's');
    for (let i = 0; i < 200; i++) {
      const m = await q.enqueue({ from: 'a@contoso.com', recipients: ['r@f.com'], body: small });
      await q.complete(m.id);
      maxSegments = Math.max(maxSegments, (await readdir(dir)).filter((n) => n.startsWith('seg-')).length);
    }
    // 200 x 2 KB of small mail fills about 25 segments. Copying a large message forward takes a segment of its
    // own: moving one on each delivery would have made some 200 more. They move about once, when the dead
    // space reaches twice the live.
    const newest = Math.max(...(await readdir(dir)).filter((n) => n.startsWith('seg-')).map((n) => Number(/\d+/.exec(n)![0])));
    assert.ok(newest <= 60, `${newest} segments written in all`);
    const live = 6 * big.length;
    assert.ok(maxSegments * segmentBytes <= 4 * live + 6 * segmentBytes, `at most ${maxSegments} segments of ${segmentBytes} bytes for ${live} live bytes`);
    assert.deepEqual(q.list().map((m) => m.id).sort(), waiting.map((m) => m.id).sort());
    for (const w of waiting) assert.deepEqual(await q.readBody(w.id), big);
    await q.close();
  });
});
