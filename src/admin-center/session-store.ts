import crypto from 'node:crypto';
import type { Caller } from '../cmdlets/framework/context.js';

export interface SessionStoreOptions {
  clock: () => Date;
  /** A session ends after this long without a request. */
  idleTimeoutMs?: number;
  /** And in any case this long after sign-in. */
  absoluteTimeoutMs?: number;
}

interface Session {
  caller: Caller;
  createdAt: number;
  lastSeen: number;
}

/**
 * Admin center sessions, in this process's memory only. The browser holds an
 * opaque random id; the map is keyed by its hash, so a heap dump does not
 * yield usable cookies. The caller (with the administrator's token, which
 * cmdlets need to act on another server's admin API) never leaves the server.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly idle: number;
  private readonly absolute: number;

  constructor(private readonly opts: SessionStoreOptions) {
    this.idle = opts.idleTimeoutMs ?? 60 * 60_000;
    this.absolute = opts.absoluteTimeoutMs ?? 12 * 60 * 60_000;
  }

  /** Starts a session and returns the id to put in the cookie. */
  create(caller: Caller): string {
    this.sweep();
    const id = crypto.randomBytes(32).toString('base64url');
    const now = this.opts.clock().getTime();
    this.sessions.set(hash(id), { caller, createdAt: now, lastSeen: now });
    return id;
  }

  /** The caller of a live session (and keeps it alive), or undefined. */
  resolve(id: string | undefined): Caller | undefined {
    if (!id) return undefined;
    const key = hash(id);
    const s = this.sessions.get(key);
    if (!s) return undefined;
    const now = this.opts.clock().getTime();
    if (now - s.lastSeen > this.idle || now - s.createdAt > this.absolute) {
      this.sessions.delete(key);
      return undefined;
    }
    s.lastSeen = now;
    return s.caller;
  }

  destroy(id: string | undefined): void {
    if (id) this.sessions.delete(hash(id));
  }

  private sweep() {
    const now = this.opts.clock().getTime();
    for (const [k, s] of this.sessions) if (now - s.lastSeen > this.idle || now - s.createdAt > this.absolute) this.sessions.delete(k);
  }
}

function hash(id: string): string {
  return crypto.createHash('sha256').update(id).digest('hex');
}
