// Who may authenticate with SMTP AUTH: the organization's mail users, as the
// configuration snapshot read them. Read-only; the password check runs on
// libuv's thread pool (async scrypt), never on the event loop.
import type { MailUserRecord } from '../../directory/records.js';
import { decoyHash, verifyPassword } from '../../security/password-hash.js';

export interface AuthenticatedUser {
  /** The user principal name: what the protocol log and the queue record as the authenticated user. */
  userPrincipalName: string;
  name: string;
  /** The addresses the user may send as (MAIL FROM), lower-cased. */
  sendAs: ReadonlySet<string>;
}

export interface AccountVerifier {
  /** The user when the password is right; undefined otherwise (unknown user and wrong password look alike). */
  verify(login: string, password: string): Promise<AuthenticatedUser | undefined>;
  /** The account a login names, one key for all its spellings; for an unknown login, the login itself (bounded). */
  accountKey(login: string): string;
}

export class MailUserAccounts implements AccountVerifier {
  private readonly byLogin = new Map<string, MailUserRecord>();

  constructor(users: readonly MailUserRecord[]) {
    // Made now, so the first unknown user name costs no more than a known one.
    void decoyHash();
    // UPNs first, so a name that looks like another user's UPN can never shadow it.
    for (const u of users) this.byLogin.set(u.userPrincipalName.toLowerCase(), u);
    for (const u of users) for (const n of [u.name, u.alias]) if (!this.byLogin.has(n.toLowerCase())) this.byLogin.set(n.toLowerCase(), u);
  }

  /** `ed@contoso.com`, `Ed Meadows`, `ed`, `CONTOSO\ed` (the domain part of a down-level name is not checked: there is one domain). */
  find(login: string): MailUserRecord | undefined {
    const l = login.trim().toLowerCase();
    const direct = this.byLogin.get(l);
    if (direct) return direct;
    const slash = l.indexOf('\\');
    return slash > 0 ? this.byLogin.get(l.slice(slash + 1)) : undefined;
  }

  accountKey(login: string): string {
    const user = this.find(login);
    if (user) return user.userPrincipalName.toLowerCase();
    const l = login.trim().toLowerCase();
    return l.slice(l.indexOf('\\') + 1, l.indexOf('\\') + 1 + 256);
  }

  async verify(login: string, password: string): Promise<AuthenticatedUser | undefined> {
    const user = this.find(login);
    const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
    if (!user || !ok) return undefined;
    return {
      userPrincipalName: user.userPrincipalName,
      name: user.name,
      sendAs: new Set([user.userPrincipalName, user.primarySmtpAddress].map((a) => a.toLowerCase())),
    };
  }
}

/** Every password check slot is taken and the queue is full: try again later (454). */
export class VerificationBusy extends Error {
  constructor() {
    super('Too many password checks are waiting');
  }
}

/**
 * At most `limit` password checks at once for the whole service: each scrypt
 * takes 16 MiB and a thread-pool thread, and a flood of AUTH attempts over
 * many connections must not take the memory or the pool the spool needs.
 */
export class VerificationLimit {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  /**
   * `maxWaiting` bounds the queue: a check outlives the session that asked
   * for it, so clients that connect, AUTH and drop could otherwise queue
   * checks without end. Past it a check is refused at once (VerificationBusy).
   */
  constructor(
    private readonly limit: number,
    private readonly maxWaiting = 64,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.maxWaiting) throw new VerificationBusy();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    else this.running++;
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, so running stays counted.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  limited(verifier: AccountVerifier): AccountVerifier {
    return { verify: (login, password) => this.run(() => verifier.verify(login, password)), accountKey: (login) => verifier.accountKey(login) };
  }
}
