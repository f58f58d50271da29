// Protocol logs copied off a Windows server arrive in whatever encoding the
// copying tool chose: Exchange writes UTF-8 with a BOM, but a log saved again
// by Notepad or PowerShell's Out-File is UTF-16 (LE or BE, with a BOM), and
// some tools drop the BOM. The encoding is told from the first bytes.
import { createReadStream } from 'node:fs';
import { TextDecoder } from 'node:util';

export type LogEncoding = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be';

/**
 * The encoding of a log file from its first bytes (at least 2, 4 is better).
 * A BOM decides; without one, a header or row starts with an ASCII character
 * (`#` or a digit), so a zero byte next to it means UTF-16 of that byte order.
 */
export function detectLogEncoding(head: Uint8Array): { encoding: LogEncoding; bomLength: number } {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8-bom', bomLength: 3 };
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bomLength: 2 };
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bomLength: 2 };
  if (head.length >= 2 && head[0] !== 0 && head[1] === 0) return { encoding: 'utf-16le', bomLength: 0 };
  if (head.length >= 2 && head[0] === 0 && head[1] !== 0) return { encoding: 'utf-16be', bomLength: 0 };
  return { encoding: 'utf-8', bomLength: 0 };
}

const DECODER_LABEL: Record<LogEncoding, string> = { 'utf-8': 'utf-8', 'utf-8-bom': 'utf-8', 'utf-16le': 'utf-16le', 'utf-16be': 'utf-16be' };

/** A line longer than this is not a log row (a binary file named like a log); it is skipped, not buffered. */
export const MAX_LINE_CHARS = 1024 * 1024;

export interface LogLine {
  /** Without its line ending; `undefined` for a line over MAX_LINE_CHARS, which is dropped. */
  text: string | undefined;
  lineNumber: number;
}

/** The lines of a file, decoded by its BOM/first bytes; `onEncoding` learns the encoding before the first line. */
export async function* readLogLines(file: string, onEncoding?: (encoding: LogEncoding) => void): AsyncIterable<LogLine> {
  const stream = createReadStream(file, { highWaterMark: 64 * 1024 });
  let decoder: TextDecoder | undefined;
  let pendingHead: Buffer = Buffer.alloc(0);
  let carry = '';
  let overlong = false;
  let lineNumber = 0;
  const split = function* (text: string): Iterable<LogLine> {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const piece = text.slice(start, nl);
      start = nl + 1;
      lineNumber++;
      if (overlong || carry.length + piece.length > MAX_LINE_CHARS) {
        yield { text: undefined, lineNumber };
      } else {
        const line = carry + piece;
        yield { text: line.endsWith('\r') ? line.slice(0, -1) : line, lineNumber };
      }
      carry = '';
      overlong = false;
    }
    const rest = text.slice(start);
    if (overlong || carry.length + rest.length > MAX_LINE_CHARS) {
      overlong = true;
      carry = '';
    } else {
      carry += rest;
    }
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let bytes = chunk;
    if (!decoder) {
      pendingHead = Buffer.concat([pendingHead, chunk]);
      if (pendingHead.length < 4) continue;
      const { encoding, bomLength } = detectLogEncoding(pendingHead);
      onEncoding?.(encoding);
      decoder = new TextDecoder(DECODER_LABEL[encoding], { ignoreBOM: true });
      bytes = pendingHead.subarray(bomLength);
    }
    yield* split(decoder.decode(bytes, { stream: true }));
  }
  if (!decoder) {
    // A file shorter than four bytes.
    const { encoding, bomLength } = detectLogEncoding(pendingHead);
    onEncoding?.(encoding);
    decoder = new TextDecoder(DECODER_LABEL[encoding], { ignoreBOM: true });
    yield* split(decoder.decode(pendingHead.subarray(bomLength), { stream: true }));
  }
  // The last line, when the file does not end with a line ending.
  const tail = decoder.decode();
  if (carry.length > 0 || tail.length > 0 || overlong) yield* split(tail + '\n');
}
