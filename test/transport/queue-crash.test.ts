// Crash safety of the mail queue: a child process enqueues under load and
// prints each id only after enqueue() resolved (the moment an SMTP session
// would answer 250); the test kill -9s it mid-run, reopens the spool and checks
// that every printed id is there with exactly the body that was written.
//
// This file is both the test and (with ICX_QUEUE_CRASH_CHILD set) the child.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MailQueueStore } from '../../src/transport/queue/index.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function child(dir: string): Promise<void> {
  const q = await MailQueueStore.open(dir);
  process.stdout.write('ready\n');
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (;;) {
        // Bodies of varied size, some larger than one write, all distinct.
        const body = Buffer.concat([Buffer.from(`Subject: ${randomBytes(8).toString('hex')}\r\n\r\n`), randomBytes(Math.floor(Math.random() * 40_000))]);
        const m = await q.enqueue({ from: 'load@contoso.com', recipients: ['sink@fabrikam.com'], body });
        // stdout to a pipe is synchronous on Linux: once this returns, the line survives our death.
        process.stdout.write(`${m.id} ${m.size} ${sha(body)}\n`);
        // Some messages are then retried or delivered, as a running server would.
        const r = Math.random();
        if (r < 0.3) {
          await q.update(m.id, { status: 'Retry', attempts: 1, lastError: '451 4.4.0 test' });
          process.stdout.write(`U ${m.id}\n`);
        } else if (r < 0.6) {
          // Announced first: if we die inside complete(), the message may or may not be gone.
          process.stdout.write(`c ${m.id}\n`);
          await q.complete(m.id);
          process.stdout.write(`C ${m.id}\n`);
        }
      }
    }),
  );
}

if (process.env.ICX_QUEUE_CRASH_CHILD) {
  void child(process.env.ICX_QUEUE_CRASH_CHILD);
} else {
  test('every message acknowledged before kill -9 survives, intact, across repeated crashes', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'icx-queue-crash-'));
    const acked = new Map<number, { size: number; hash: string }>();
    const updated = new Set<number>();
    const completed = new Set<number>();
    const completing = new Set<number>();
    try {
      for (let round = 0; round < 3; round++) {
        const lines = await runAndKill(dir, 400 + round * 300);
        for (const line of lines) {
          const [a, b, c] = line.split(' ');
          if (a === 'U') updated.add(Number(b));
          else if (a === 'c') completing.add(Number(b));
          else if (a === 'C') {
            completed.add(Number(b));
            acked.delete(Number(b));
          } else {
            assert.ok(!acked.has(Number(a)) && !completed.has(Number(a)), `id ${a} handed out twice`);
            acked.set(Number(a), { size: Number(b), hash: c });
          }
        }
        const q = await MailQueueStore.open(dir);
        try {
          const present = new Map(q.list().map((m) => [m.id, m]));
          for (const [id, want] of acked) {
            const m = present.get(id);
            if (!m && completing.has(id)) continue;
            assert.ok(m, `acknowledged message ${id} lost after crash ${round + 1}`);
            assert.equal(m.size, want.size);
            assert.equal(sha(await q.readBody(id)), want.hash, `body of ${id} damaged`);
          }
          for (const id of updated) {
            if (completed.has(id)) continue;
            assert.equal(present.get(id)?.attempts, 1, `update of ${id} lost`);
            assert.equal(present.get(id)?.status, 'Retry');
          }
          for (const id of completed) assert.ok(!present.has(id), `completed message ${id} came back`);
          // Whatever else is there (enqueued but not yet printed when killed) must be whole too.
          for (const m of present.values()) assert.equal((await q.readBody(m.id)).length, m.size);
        } finally {
          await q.close();
        }
        const stray = (await readdir(dir)).filter((n) => n.endsWith('.tmp'));
        assert.deepEqual(stray, []);
      }
      assert.ok(acked.size + completed.size >= 300, `only ${acked.size + completed.size} messages acknowledged`);
      assert.ok(updated.size > 0 && completed.size > 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

/** Runs the child until it has acknowledged `after` messages, then SIGKILLs it; returns its complete lines. */
function runAndKill(dir: string, after: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const self = fileURLToPath(import.meta.url);
    const p = spawn(process.execPath, ['--import', 'tsx', self], {
      env: { ...process.env, ICX_QUEUE_CRASH_CHILD: dir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    let count = 0;
    let killed = false;
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (d: string) => {
      buf += d;
      count = buf.split('\n').length - 2;
      if (!killed && count >= after) {
        killed = true;
        p.kill('SIGKILL');
      }
    });
    const guard = setTimeout(() => {
      killed = true;
      p.kill('SIGKILL');
    }, 60_000);
    p.on('error', reject);
    p.on('close', (_code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') return reject(new Error(`child ended with ${signal ?? _code}, not by kill -9`));
      // Only complete lines count: a line cut off by the kill was not an acknowledgement we saw.
      const lines = buf.split('\n').slice(0, -1).filter((l) => l !== 'ready');
      resolve(lines);
    });
  });
}
