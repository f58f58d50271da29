// How far V8 lets the old generation grow past the live data before the next full collection.
//
// V8's limit is the live size times a growing factor, and every Buffer allocated since the last
// full collection counts against it too (message bodies and socket reads are Buffers). With a
// small live heap (30 MiB) and the fixed factor of 1.3 this process had used, a stream of 100 KB
// messages set off a full collection every few megabytes of mail: 40 % of the relay's CPU went to
// the collector (docs/benchmarks.md). V8's own adaptive factor (up to 4) is the opposite failure:
// memory several times the live data once a long queue makes the live data large. So the room to
// grow is a fixed amount, HEADROOM, turned into a factor after each full collection and kept
// between 1.3 and 3: generous while the heap is small, 30 % once it is large.
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';

const HEADROOM = 64 * 1024 * 1024;
export const MIN_GROWING_PERCENT = 30;
export const MAX_GROWING_PERCENT = 200;

/** V8's --heap-growing-percent for a heap with `liveBytes` of live data after a full collection. */
export function heapGrowingPercent(liveBytes: number): number {
  const percent = Math.round((HEADROOM / Math.max(liveBytes, 1)) * 100);
  return Math.min(MAX_GROWING_PERCENT, Math.max(MIN_GROWING_PERCENT, percent));
}

export interface HeapGrowthPolicy {
  /** The percent in force. */
  readonly percent: number;
  stop(): void;
}

/**
 * Sets the growing percent now (the heap starts small) and again after each full collection.
 * For the serving process only: it changes a V8 flag of the whole process.
 */
export function installHeapGrowthPolicy(): HeapGrowthPolicy {
  let percent = MAX_GROWING_PERCENT;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  const observer = new PerformanceObserver((list) => {
    if (!list.getEntries().some((e) => (e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) return;
    const next = heapGrowingPercent(v8.getHeapStatistics().used_heap_size);
    if (next === percent) return;
    percent = next;
    v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    get percent() {
      return percent;
    },
    stop: () => observer.disconnect(),
  };
}
