import { createHash } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import { promisify } from 'node:util';

/*
 * The per-message body file of spools written before the segment log
 * (legacy-spool.ts reads them to take such a spool over; the writer stays so
 * tests can make one):
 *
 *   <message bytes> <trailer JSON> "ICX1" <8 hex digits: byte length of the JSON>
 *
 * The trailer holds the message's initial metadata, its size and the SHA-1 of
 * its bytes; the checksum says whether the file was completely written.
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
  // Plain descriptors, not fs/promises FileHandles: on the enqueue hot path the
  // FileHandle object, its close() and its GC tracking cost measurable main-thread time.
  const fd = await openFd(file, 'wx');
  try {
    const hash = createHash('sha1');
    let size = 0;
    const put = async (buf: Buffer): Promise<void> => {
      let off = 0;
      while (off < buf.length) {
        off += await writeFd(fd, buf, off, buf.length - off, size + off);
      }
      size += buf.length;
    };
    if (Buffer.isBuffer(body)) {
      hash.update(body);
      const trailer = trailerBytes(body.length, hash.digest('hex'), metadataFor(body.length));
      // One writev for the common case of a message received whole.
      const written = await writevFd(fd, [body, trailer], 0);
      if (written < body.length + trailer.length) {
        size = written;
        await put(Buffer.concat([body, trailer]).subarray(written));
      }
      await fdatasyncFd(fd);
      return body.length;
    }
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      hash.update(buf);
      await put(buf);
    }
    const messageSize = size;
    await put(trailerBytes(messageSize, hash.digest('hex'), metadataFor(messageSize)));
    await fdatasyncFd(fd);
    return messageSize;
  } finally {
    await closeFd(fd);
  }
}

const openFd = promisify(fs.open);
const closeFd = promisify(fs.close);
const fdatasyncFd = promisify(fs.fdatasync);
const writeFd = (fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> =>
  new Promise((resolve, reject) => fs.write(fd, buf, off, len, pos, (e, n) => (e ? reject(e) : resolve(n))));
const writevFd = (fd: number, bufs: Buffer[], pos: number): Promise<number> =>
  new Promise((resolve, reject) => fs.writev(fd, bufs, pos, (e, n) => (e ? reject(e) : resolve(n))));

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
