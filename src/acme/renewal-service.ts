// The server process's renewal timer: every interval, one renewal pass
// (src/acme/renewal.ts) over the ACME certificates this server holds.
import type { Logger } from 'pino';
import { renewalPass, type RenewalDeps } from './renewal.js';

/** How often a server looks for ACME certificates due for renewal, unless INTERCHANGE_ACME_RENEWAL_INTERVAL_MS says otherwise. */
export const DEFAULT_RENEWAL_INTERVAL_MS = 3_600_000;

export function renewalIntervalFromEnvironment(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.INTERCHANGE_ACME_RENEWAL_INTERVAL_MS);
  return Number.isInteger(n) && n >= 100 ? n : DEFAULT_RENEWAL_INTERVAL_MS;
}

export class AcmeRenewalService {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: RenewalDeps & { intervalMs: number; logger: Logger }) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.deps.intervalMs);
    this.timer.unref();
  }

  /** One pass now (or the one already running). */
  runOnce(): Promise<void> {
    this.running ??= renewalPass(this.deps, (e, thumbprint) => this.deps.logger.warn({ err: e, thumbprint }, 'Renewing an ACME certificate failed; it is tried again later'))
      .catch((e) => this.deps.logger.warn({ err: e }, 'The ACME renewal pass failed'))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
