// The spool's record format under damage: one flipped byte anywhere in a
// segment costs the record it falls in and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { doneRecord, messageRecord, parseSegment, updateRecord } from '../../src/transport/queue/records.js';

function segment(): { data: Buffer; spans: Array<{ start: number; end: number; key: string }> } {
  const parts: Buffer[] = [];
  const spans: Array<{ start: number; end: number; key: string }> = [];
  let at = 0;
  for (let id = 1; id <= 40; id++) {
    const buffers =
      id % 5 === 0 ? doneRecord(id - 1) : id % 3 === 0 ? updateRecord({ id, attempts: id }) : messageRecord({ id }, crypto.randomBytes(50 + id * 13)).buffers;
    const b = Buffer.concat(buffers);
    spans.push({ start: at, end: at + b.length, key: `${id % 5 === 0 ? 'D' : id % 3 === 0 ? 'U' : 'M'}${id}` });
    parts.push(b);
    at += b.length;
  }
  return { data: Buffer.concat(parts), spans };
}

function keys(data: Buffer): { keys: string[]; damaged: number; torn: boolean } {
  const out: string[] = [];
  const r = parseSegment(data, (rec) => {
    if (rec.type === 'D') out.push(`D${rec.id + 1}`);
    else out.push(`${rec.type}${(rec.metadata as { id: number }).id}`);
  });
  return { keys: out, damaged: r.damaged.length, torn: r.stop.kind === 'torn' };
}

test('a flipped bit in any byte costs exactly the record it falls in; a cut-off end is a crash, not damage', () => {
  const { data, spans } = segment();
  assert.deepEqual(keys(data), { keys: spans.map((s) => s.key), damaged: 0, torn: false });
  // Every byte of the segment, each with a bit flipped: no position is left to chance.
  for (let at = 0; at < data.length; at++) {
    const copy = Buffer.from(data);
    copy[at] ^= 1 << (at % 8);
    const hit = spans.find((s) => at >= s.start && at < s.end)!;
    const result = keys(copy);
    assert.deepEqual(result.keys, spans.filter((s) => s !== hit).map((s) => s.key), `byte ${at} in ${hit.key}`);
    if (hit !== spans.at(-1)) {
      assert.deepEqual([result.torn, result.damaged], [false, 1], `byte ${at}: damage with whole records after it is never taken for a cut-off write`);
    } else {
      // The last record: a flip in its payload looks like a cut-off write, one in its marker or length like damage.
      assert.equal(Number(result.torn) + result.damaged, 1, `byte ${at}: the last record is reported once`);
    }
  }
  for (const cut of [1, 7, 100]) {
    const r = keys(data.subarray(0, data.length - cut));
    const whole = spans.filter((s) => s.end <= data.length - cut).map((s) => s.key);
    assert.deepEqual([r.keys, r.torn, r.damaged], [whole, true, 0], `cut ${cut}`);
  }
});
