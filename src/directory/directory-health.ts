// Whether this process can reach its directory, as its own calls found it.
// Every poller of a running server (the transport's configuration reload, the
// admin certificate watcher, the heartbeat) fails on each tick while the
// directory is down; logged per failure, an outage of a minute wrote hundreds
// of identical errors per server. The outage is logged here once when the
// first call fails and once when a call succeeds again, with how long it
// lasted and how many calls failed meanwhile; the pollers stay quiet about it.
import { type InterchangeError, isInterchangeError } from '../errors/interchange-error.js';

export interface DirectoryHealthLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface DirectoryState {
  reachable: boolean;
  /** When the current outage began (unreachable only). */
  since?: Date;
  /** What the first failed call of the outage said. */
  cause?: string;
  /** Calls that failed since the outage began. */
  failedCalls?: number;
}

export class DirectoryHealth {
  private outage: { since: Date; cause: string; failedCalls: number } | undefined;
  /** Outages begun since this process started (the metrics' interchange_directory_outages_total). */
  outagesBegun = 0;

  constructor(
    private readonly where: string,
    private readonly log?: DirectoryHealthLog,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** A call could not reach the directory. */
  failed(cause: string): void {
    if (this.outage) {
      this.outage.failedCalls++;
      return;
    }
    this.outage = { since: this.clock(), cause, failedCalls: 1 };
    this.outagesBegun++;
    this.log?.warn({ directory: this.where, cause }, `The directory at ${this.where} cannot be reached: ${cause}. The server goes on with the configuration it has; this is logged again when the directory answers.`);
  }

  /** A call reached the directory. */
  answered(): void {
    const o = this.outage;
    if (!o) return;
    this.outage = undefined;
    const seconds = Math.round((this.clock().getTime() - o.since.getTime()) / 100) / 10;
    this.log?.info({ directory: this.where, outageSeconds: seconds, failedCalls: o.failedCalls }, `The directory at ${this.where} answers again after ${seconds} s unreachable (${o.failedCalls} calls failed meanwhile).`);
  }

  state(): DirectoryState {
    return this.outage ? { reachable: false, since: this.outage.since, cause: this.outage.cause, failedCalls: this.outage.failedCalls } : { reachable: true };
  }
}

/** Whether an error is the directory being unreachable (already logged once by DirectoryHealth), not a failure of its own. */
export function isDirectoryUnavailable(e: unknown): e is InterchangeError {
  return isInterchangeError(e) && e.code === 'ICX_DIRECTORY_UNAVAILABLE';
}
