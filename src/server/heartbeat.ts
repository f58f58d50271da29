import os from 'node:os';
import type { DirectoryStore } from '../directory/directory-store.js';
import type { ServerHeartbeatRecord } from '../directory/records.js';

/** How often a running server says it is alive, unless INTERCHANGE_HEARTBEAT_INTERVAL_MS says otherwise. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000;

export function heartbeatIntervalFromEnvironment(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.INTERCHANGE_HEARTBEAT_INTERVAL_MS;
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(n) && n >= 100 ? n : DEFAULT_HEARTBEAT_INTERVAL_MS;
}

export interface HeartbeatDeps {
  directory: Pick<DirectoryStore, 'recordHeartbeat' | 'listReceiveConnectors'>;
  serverName: string;
  productVersion: string;
  intervalMs: number;
  clock: () => Date;
  /** The transport's view of its bindings (`address:port Listening`…); undefined when this process runs none. */
  bindingStatus?: (bindings: readonly string[]) => string[];
  onError: (e: unknown) => void;
}

/**
 * The server process's record of itself in the directory: at start, every
 * interval, and Stopped at a clean stop. Only the server's own process writes
 * it; a failed write is reported and the next interval tries again.
 */
export class ServerHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly startedAt: Date;

  constructor(private readonly deps: HeartbeatDeps) {
    this.startedAt = deps.clock();
  }

  async start(): Promise<void> {
    await this.beat('Running');
    this.timer = setInterval(() => void this.beat('Running'), this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.beat('Stopped');
  }

  private beat(state: ServerHeartbeatRecord['state']): Promise<void> {
    // One write at a time, in order: a slow directory never lets a Running overtake the Stopped.
    this.writing = this.writing.then(async () => {
      try {
        await this.deps.directory.recordHeartbeat({
          serverName: this.deps.serverName,
          productVersion: this.deps.productVersion,
          lastSeen: this.deps.clock(),
          intervalMs: this.deps.intervalMs,
          state,
          startedAt: this.startedAt,
          host: os.hostname(),
          pid: process.pid,
          listeners: await this.listeners(),
        });
      } catch (e) {
        this.deps.onError(e);
      }
    });
    return this.writing;
  }

  private async listeners(): Promise<ServerHeartbeatRecord['listeners']> {
    const out: ServerHeartbeatRecord['listeners'] = [];
    for (const rc of await this.deps.directory.listReceiveConnectors(this.deps.serverName)) {
      const statuses = !rc.enabled ? rc.bindings.map((b) => `${b} Disabled`) : (this.deps.bindingStatus?.(rc.bindings) ?? rc.bindings.map((b) => `${b} Unknown`));
      for (const s of statuses) {
        const space = s.indexOf(' ');
        out.push({ connector: rc.name, binding: s.slice(0, space), status: s.slice(space + 1) });
      }
    }
    return out;
  }
}
