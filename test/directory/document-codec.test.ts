import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeDocument, encodeDocument } from '../../src/directory/document-codec.js';

test('a document keeps its Dates and Buffers at any depth, in objects and arrays', () => {
  const when = new Date('2026-12-05T08:00:00.123Z');
  const record = {
    name: 'Outbound',
    whenChanged: when,
    der: Buffer.from([0, 1, 2, 255]),
    addressSpaces: [{ address: 'contoso.com', cost: 1, added: when }],
    history: [when, Buffer.from('x'), null, 3, 'text'],
    nested: { deeper: { at: when, nothing: null } },
  };
  const back = decodeDocument<typeof record>(encodeDocument(record));
  assert.deepEqual(back, record);
  assert.ok(back.whenChanged instanceof Date && back.history[0] instanceof Date);
  assert.ok(Buffer.isBuffer(back.der) && Buffer.isBuffer(back.history[1]));
});

test('an object that only looks like a tag is left as it is', () => {
  // A tag is an object with that one key holding a string; anything else is data.
  const record = { a: { $date: '2026-12-05T00:00:00Z', other: 1 }, b: { $buf: 5 }, c: { $date: 'not a date' } };
  const back = decodeDocument<Record<string, unknown>>(JSON.stringify(record));
  assert.deepEqual(back.a, record.a);
  assert.deepEqual(back.b, record.b);
  assert.ok(back.c instanceof Date && Number.isNaN((back.c as Date).getTime()));
});
