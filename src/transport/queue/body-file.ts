import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';

/*
 * A body file is the message exactly as received, followed by a trailer that
 * makes the file self-describing:
 *
 *   <message bytes> <trailer JSON> "ICX1" <8 hex digits: byte length of the JSON>
 *
 * The trailer holds the message's initial metadata, its size and the SHA-1 of
 * its bytes. Why: one fdatasync of this one file makes both the message and its
 * envelope durable, so an enqueue costs one file flush, not two (on this
 * project's disks the flush is the whole cost of a durable enqueue). The
 * separate <id>.meta file carries the current state; when it is missing or
 * unreadable after a crash, the trailer says what the message was, and the
 * checksum says whether the file was completely written.
 */

const MAGIC = 'ICX1';
const TAIL = 12; // MAGIC + 8 hex digits

export interface BodyTrailer {
  size: number;
  sha1: string;
  /** The metadata document (metadata.ts format) as it was at enqueue. */
  metadata: unknown;
}

/**
 * Writes message and trailer and fdatasyncs the file. `metadataFor(size)` is
 * asked for the metadata once the size is known (streamed bodies).
 * Returns the message size (trailer excluded).
 */
export async function writeBodyFile(
  file: string,
  body: Buffer | AsyncIterable<Buffer>,
  metadataFor: (size: number) => unknown,
): Promise<number> {
  const fh = await fsp.open(file, 'wx');
  try {
    const hash = createHash('sha1');
    let size = 0;
    const put = async (buf: Buffer): Promise<void> => {
      let off = 0;
      while (off < buf.length) {
        const { bytesWritten } = await fh.write(buf, off, buf.length - off, size + off);
        off += bytesWritten;
      }
      size += buf.length;
    };
    if (Buffer.isBuffer(body)) {
      hash.update(body);
      const trailer = trailerBytes(body.length, hash.digest('hex'), metadataFor(body.length));
      // One write for the common case of a message received whole.
      await fh.writeFile(Buffer.concat([body, trailer]));
      await fh.datasync();
      return body.length;
    }
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      hash.update(buf);
      await put(buf);
    }
    const messageSize = size;
    await put(trailerBytes(messageSize, hash.digest('hex'), metadataFor(messageSize)));
    await fh.datasync();
    return messageSize;
  } finally {
    await fh.close();
  }
}

function trailerBytes(size: number, sha1: string, metadata: unknown): Buffer {
  const json = Buffer.from(JSON.stringify({ size, sha1, metadata }), 'utf8');
  return Buffer.concat([json, Buffer.from(MAGIC + json.length.toString(16).padStart(8, '0'), 'latin1')]);
}

/** Reads the trailer; undefined when the file does not end in a well-formed one. */
export async function readBodyTrailer(file: string): Promise<BodyTrailer | undefined> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(file, 'r');
    const { size: fileSize } = await fh.stat();
    if (fileSize < TAIL) return undefined;
    const tail = Buffer.alloc(TAIL);
    await fh.read(tail, 0, TAIL, fileSize - TAIL);
    const text = tail.toString('latin1');
    if (!text.startsWith(MAGIC) || !/^[0-9a-f]{8}$/.test(text.slice(4))) return undefined;
    const len = parseInt(text.slice(4), 16);
    if (len > fileSize - TAIL) return undefined;
    const json = Buffer.alloc(len);
    await fh.read(json, 0, len, fileSize - TAIL - len);
    const t = JSON.parse(json.toString('utf8')) as Partial<BodyTrailer>;
    if (typeof t.size !== 'number' || typeof t.sha1 !== 'string' || t.size !== fileSize - TAIL - len) return undefined;
    return { size: t.size, sha1: t.sha1, metadata: t.metadata };
  } catch {
    return undefined;
  } finally {
    await fh?.close();
  }
}

/** True when the message bytes match the trailer's checksum (the file was written completely). */
export async function verifyBody(file: string, trailer: BodyTrailer): Promise<boolean> {
  const hash = createHash('sha1');
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(1 << 20, Math.max(trailer.size, 1)));
    let pos = 0;
    while (pos < trailer.size) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, trailer.size - pos), pos);
      if (bytesRead === 0) return false;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex') === trailer.sha1;
}
