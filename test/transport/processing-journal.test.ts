// The processing journal: what a process was processing when it died is
// what the next one reads back; a clean close leaves nothing; the file stays small.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JOURNAL_FILE, openIds, ProcessingJournal } from '../../src/transport/queue/processing-journal.js';
import { REPO_ROOT } from '../support/interchange.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'icx-journal-'));
  try {
    await fn(dir);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

test('openIds: begun and not ended; a torn last line is ignored', () => {
  assert.deepEqual(openIds('begin 1\nbegin 2\nend 1\nbegin 3\nbeg'), [2, 3]);
  assert.deepEqual(openIds('begin 7\nend 7\nbegin 7\n'), [7]);
  assert.deepEqual(openIds(''), []);
});

test('a process killed while processing: the next open returns what began and never ended', async () => {
  await withDir(async (dir) => {
    // A real process, killed by SIGKILL with a begin just written and an end still batched in memory.
    const script = `
      import { ProcessingJournal } from ${JSON.stringify(path.join(REPO_ROOT, 'src/transport/queue/processing-journal.ts'))};
      const j = await ProcessingJournal.open(${JSON.stringify(dir)});
      j.begin(1); j.end(1); j.flush();
      j.begin(2);
      j.begin(3); j.end(3);
      process.kill(process.pid, 'SIGKILL');
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);

    const j = await ProcessingJournal.open(dir);
    // 3's end was still batched when the process died: counted as interrupted, the safe side.
    assert.deepEqual([...j.interrupted], [2, 3]);
    j.close();
    // Not acknowledged before the close: a crash before the counts were recorded must not forget them.
    const again = await ProcessingJournal.open(dir);
    assert.deepEqual([...again.interrupted], [2, 3]);
    again.acknowledgeInterrupted();
    again.close();
    const third = await ProcessingJournal.open(dir);
    assert.deepEqual([...third.interrupted], []);
    third.close();
  });
});

test('begin is on disk when it returns; nested processing of one message writes one begin and one end', async () => {
  await withDir(async (dir) => {
    const j = await ProcessingJournal.open(dir);
    const file = path.join(dir, JOURNAL_FILE);
    j.begin(5);
    assert.equal(fs.readFileSync(file, 'utf8'), 'begin 5\n');
    j.begin(5); // an NDR generated while delivering
    j.end(5);
    assert.deepEqual(j.openNow(), [5]);
    j.end(5);
    assert.deepEqual(j.openNow(), []);
    // Ends are batched, then written together with the next begin.
    assert.equal(fs.readFileSync(file, 'utf8'), 'begin 5\n');
    j.begin(6);
    assert.equal(fs.readFileSync(file, 'utf8'), 'begin 5\nend 5\nbegin 6\n');
    j.end(6);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(fs.readFileSync(file, 'utf8'), 'begin 5\nend 5\nbegin 6\nend 6\n');
    j.close();
  });
});

test('the file is compacted to the open ids when it grows past the limit', async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, JOURNAL_FILE);
    const j = await ProcessingJournal.open(dir, { compactAtBytes: 256 });
    j.begin(1000000);
    let largest = 0;
    for (let id = 1; id <= 500; id++) {
      j.begin(id);
      j.end(id);
      largest = Math.max(largest, fs.statSync(file).size);
    }
    j.begin(42424242);
    assert.ok(largest <= 256 + 64, `the file stays near the limit: ${largest} bytes`);
    assert.deepEqual(openIds(fs.readFileSync(file, 'utf8')), [1000000, 42424242]);
    assert.deepEqual(fs.readdirSync(dir).sort(), [JOURNAL_FILE]);
    j.close();
  });
});

test('checkpoint (a stop of the service) writes batched ends and keeps only what is still open', async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, JOURNAL_FILE);
    const j = await ProcessingJournal.open(dir);
    j.begin(1);
    j.begin(2);
    j.end(1);
    j.checkpoint();
    assert.equal(fs.readFileSync(file, 'utf8'), 'begin 2\n');
    j.end(2);
    j.checkpoint();
    assert.equal(fs.readFileSync(file, 'utf8'), '');
    // A process that exits right after a stop, without close(): nothing counts as interrupted.
    const next = await ProcessingJournal.open(dir);
    assert.deepEqual([...next.interrupted], []);
    next.close();
    j.close();
  });
});

test('a clean close removes the file; the next open finds nothing interrupted', async () => {
  await withDir(async (dir) => {
    const j = await ProcessingJournal.open(dir);
    for (let id = 1; id <= 10; id++) j.begin(id);
    for (let id = 1; id <= 10; id++) j.end(id);
    j.close();
    assert.deepEqual(fs.readdirSync(dir), []);
    const next = await ProcessingJournal.open(dir);
    assert.deepEqual([...next.interrupted], []);
    // Still being processed at close (a stop that cut work off): kept, as a crash would have.
    next.begin(11);
    next.close();
    const last = await ProcessingJournal.open(dir);
    assert.deepEqual([...last.interrupted], [11]);
    last.acknowledgeInterrupted();
    last.close();
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});
