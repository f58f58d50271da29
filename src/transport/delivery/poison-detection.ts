// Poison message detection (reference §8): a message the transport was
// processing when it died has its crash count raised at the next start; at
// PoisonThreshold crashes it goes to the Poison queue, where it stays
// (Suspended, never retried, never expired) until an administrator resumes or
// removes it. That keeps one message from crashing the service over and over.
import type { Logger } from 'pino';
import type { MailQueueStore, QueuedMessagePatch } from '../queue/index.js';
import type { ProcessingTracker } from '../queue/processing-journal.js';

export interface PoisonSettings {
  threshold: number;
  enabled: boolean;
}

/** The state a message gets after one more crash while it was processed. Pure. */
export function afterCrash(crashCount: number | undefined, s: PoisonSettings): { crashCount: number; poison: boolean } {
  const count = (crashCount ?? 0) + 1;
  return { crashCount: count, poison: s.enabled && count >= s.threshold };
}

/**
 * Start of the service: raises, durably, the crash count of every message the
 * previous process left open in its processing journal, poisons those that
 * reached the threshold, then lets the journal forget them. Returns the ids
 * now poison.
 */
export async function recordInterruptedProcessing(deps: { store: MailQueueStore; tracker: ProcessingTracker; settings: PoisonSettings; logger: Logger; serverName: string }): Promise<number[]> {
  const poisoned: number[] = [];
  // In parallel: a crash under load leaves many messages open, and the store groups their flushes.
  await Promise.all(
    deps.tracker.interrupted.map(async (id) => {
      const m = deps.store.get(id);
      // Delivered and removed before the end line reached the journal.
      if (!m) return;
      // Already in the Poison queue: a crash while an administrator removed it with an NDR, say. It stays there.
      if (m.poison) return;
      const next = afterCrash(m.crashCount, deps.settings);
      const patch: QueuedMessagePatch = next.poison ? { crashCount: next.crashCount, poison: true, status: 'Suspended', nextAttemptAt: undefined } : { crashCount: next.crashCount };
      await deps.store.update(id, patch);
      if (next.poison) {
        poisoned.push(id);
        deps.logger.warn(
          { id, internetMessageId: m.internetMessageId, crashCount: next.crashCount, queue: `${deps.serverName}\\Poison` },
          'The transport stopped unexpectedly while processing this message PoisonThreshold times: moved to the Poison queue',
        );
      } else {
        deps.logger.warn({ id, internetMessageId: m.internetMessageId, crashCount: next.crashCount }, 'The transport stopped unexpectedly while processing this message; it is retried');
      }
    }),
  );
  deps.tracker.acknowledgeInterrupted();
  return poisoned.sort((a, b) => a - b);
}
