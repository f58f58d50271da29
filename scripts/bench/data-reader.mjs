// The DATA byte loop alone (src/transport/inbound/data-reader.ts), on the messages of the hostile cell:
// 34 MiB of `..` lines read whole (held under a 35 MB MaxMessageSize), the same refused early (over a 1 MB
// limit, then only scanned for its end), and an ordinary 100 KB message of 78-octet lines; 64 KiB chunks, as
// a socket hands them over. CPU of this one thread, milliseconds per message.
//   npm run build && node scripts/bench/data-reader.mjs
import { DataReader } from '../../dist/transport/inbound/data-reader.js';

const chunked = (wire) => Array.from({ length: Math.ceil(wire.length / 65536) }, (_, i) => wire.subarray(i * 65536, (i + 1) * 65536));
const dots = chunked(Buffer.concat([Buffer.from('Subject: dots\r\n\r\n'), Buffer.alloc(34 * 1024 * 1024 - 20, '..\r\n'), Buffer.from('.\r\n')]));
const line = 'abcdefghijklmnopqrstuvwxyz0123456789 abcdefghijklmnopqrstuvwxyz0123456789..\r\n';
const ordinary = chunked(Buffer.from('Subject: ordinary\r\n\r\n' + line.repeat(Math.ceil(102400 / line.length)) + '.\r\n'));

function read(chunks, maxMessageSize) {
  const r = new DataReader({ maxMessageSize, maxHeaderSize: 262144 });
  r.begin();
  for (const c of chunks) {
    const result = r.push(c);
    if (result) {
      r.recycle();
      r.release();
      return result;
    }
  }
  throw new Error('no end of data');
}

const cells = [
  ['34 MiB of dot lines, held', dots, 36_700_160, 5],
  ['34 MiB of dot lines, refused', dots, 1_000_000, 10],
  ['100 KB ordinary message', ordinary, 36_700_160, 3000],
];
for (const [name, chunks, max, n] of cells) {
  for (let i = 0; i < 2; i++) read(chunks, max);
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) read(chunks, max);
  const used = process.cpuUsage(t);
  console.log(`${name.padEnd(30)} ${((used.user + used.system) / 1000 / n).toFixed(2)} ms per message`);
}
