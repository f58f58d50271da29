import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { readBodyTrailer, verifyBody } from './body-file.js';
import { fromMetadataDoc, parseMetadata } from './metadata.js';
import type { QueuedMessage } from './types.js';

/*
 * Spools written before the segment log kept a file per message:
 * <id>.body (message bytes, then a trailer with the initial metadata and a
 * checksum, body-file.ts) and, once its state changed, <id>.meta. A server
 * upgraded with mail in its queue must deliver that mail, so the store reads
 * such a spool once, appends every message to the log, and only then deletes
 * the old files.
 */

export interface LegacySpool {
  messages: Array<{ msg: QueuedMessage; body: Buffer }>;
  /** The highest id any old file named (ids must not repeat). */
  maxId: number;
  /** Deletes the old files; call only once their messages are durable in the log. */
  discard(): Promise<void>;
}

export async function readLegacySpool(dir: string): Promise<LegacySpool> {
  const names = await fsp.readdir(dir);
  const files: string[] = [];
  const bodies: number[] = [];
  const metas = new Set<number>();
  let maxId = 0;
  for (const name of names) {
    const m = /^(\d+)\.(body|meta)$/.exec(name);
    if (!m) continue;
    files.push(name);
    const id = Number(m[1]);
    maxId = Math.max(maxId, id);
    if (m[2] === 'body') bodies.push(id);
    else metas.add(id);
  }
  const messages: LegacySpool['messages'] = [];
  const damaged: string[] = [];
  for (const id of bodies.sort((a, b) => a - b)) {
    const bodyFile = path.join(dir, `${id}.body`);
    const trailer = await readBodyTrailer(bodyFile);
    let msg: QueuedMessage | undefined;
    if (metas.has(id)) {
      try {
        msg = parseMetadata(await fsp.readFile(path.join(dir, `${id}.meta`), 'utf8'));
        if (msg.id !== id || !trailer || trailer.size !== msg.size) {
          // A state on record whose body does not match it: disk trouble, kept for a human.
          damaged.push(`${id}.body`, `${id}.meta`);
          continue;
        }
      } catch {
        msg = undefined;
      }
    }
    if (!msg) {
      // No readable state: the trailer decides; a torn body was never acknowledged.
      if (!trailer || !(await verifyBody(bodyFile, trailer))) continue;
      try {
        msg = fromMetadataDoc(trailer.metadata);
      } catch {
        continue;
      }
      if (msg.id !== id || msg.size !== trailer.size) continue;
    }
    const data = await fsp.readFile(bodyFile);
    messages.push({ msg, body: data.subarray(0, msg.size) });
  }
  return {
    messages,
    maxId,
    async discard() {
      if (damaged.length > 0) {
        await fsp.mkdir(path.join(dir, 'corrupt'), { recursive: true });
        for (const f of damaged) await fsp.rename(path.join(dir, f), path.join(dir, 'corrupt', f)).catch(() => undefined);
      }
      for (const f of files) await fsp.rm(path.join(dir, f), { force: true });
    },
  };
}
