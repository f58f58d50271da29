// Measures durable enqueue throughput: `node --import tsx src/transport/queue/bench-enqueue.ts [sessions] [bytes] [seconds] [dir] [relay]`.
// With `relay`, every message is also completed (removed) right after its enqueue, as a relay
// does once the next hop accepted it: the steady state of a server, deletes included.
// Each "session" enqueues one message after another, as an SMTP session would
// (the next message only after the 250), so concurrency equals sessions.
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MailQueueStore } from './store.js';

/** The disk's mood right now: mean latency of create+write+fdatasync of one small file, sequentially. */
function fsyncProbeMs(dir: string, n = 100): number {
  const buf = Buffer.alloc(5120, 'p');
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const fd = openSync(path.join(dir, `probe-${i}`), 'w');
    writeSync(fd, buf);
    fdatasyncSync(fd);
    closeSync(fd);
  }
  return Number(process.hrtime.bigint() - t) / 1e6 / n;
}

async function main(): Promise<void> {
  const sessions = Number(process.argv[2] ?? 20);
  const bytes = Number(process.argv[3] ?? 5120);
  const seconds = Number(process.argv[4] ?? 5);
  const base = process.argv[5] || os.tmpdir();
  const relay = process.argv[6] === 'relay';
  const completions: Array<Promise<void>> = [];
  const dir = await mkdtemp(path.join(base, 'icx-queue-bench-'));
  const probeDir = await mkdtemp(path.join(base, 'icx-fsync-probe-'));
  const before = fsyncProbeMs(probeDir);
  const store = await MailQueueStore.open(dir);
  const body = Buffer.alloc(bytes, 'x');
  let count = 0;
  const deadline = Date.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: sessions }, async () => {
      while (Date.now() < deadline) {
        const m = await store.enqueue({ from: 'a@example.com', recipients: ['b@example.org'], body });
        count++;
        if (relay) completions.push(store.complete(m.id));
      }
    }),
  );
  await Promise.all(completions);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  await store.close();
  await rm(dir, { recursive: true, force: true });
  const after = fsyncProbeMs(probeDir);
  await rm(probeDir, { recursive: true, force: true });
  console.log(
    `${sessions} sessions, ${bytes} B${relay ? ', enqueue+complete' : ''}: ${count} messages in ${elapsed.toFixed(2)} s = ${(count / elapsed).toFixed(0)} msg/s (UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 4}; ` +
      `sequential fdatasync ${before.toFixed(2)} ms before, ${after.toFixed(2)} ms after)`,
  );
}

void main();
