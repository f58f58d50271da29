// Recipient resolution, the categorizer's first step in Exchange: an address
// that belongs to a mail user is delivered to the user's ExternalEmailAddress
// (a MailUser is a mail-enabled account whose mail lives elsewhere).
import type { MailUserRecord } from '../../directory/records.js';

export class RecipientResolver {
  private readonly targets = new Map<string, string>();

  constructor(users: readonly MailUserRecord[]) {
    for (const u of users) {
      if (!u.externalEmailAddress) continue;
      for (const a of [u.primarySmtpAddress, u.userPrincipalName]) this.targets.set(a.toLowerCase(), u.externalEmailAddress);
    }
  }

  /** False when no address resolves elsewhere (no mail users): callers skip the per-recipient lookups. */
  get resolvesAny(): boolean {
    return this.targets.size > 0;
  }

  /** The ExternalEmailAddress a mail user's address resolves to; undefined for any other address. */
  targetOf(recipient: string): string | undefined {
    return this.targets.get(recipient.toLowerCase());
  }

  /** The addresses to deliver to, in order, without duplicates (two recipients may resolve to one address). */
  resolve(recipients: readonly string[]): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    for (const r of recipients) {
      const target = this.targets.get(r.toLowerCase()) ?? r;
      if (seen.has(target.toLowerCase())) continue;
      seen.add(target.toLowerCase());
      out.push(target);
    }
    return out;
  }
}
