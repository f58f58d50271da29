import type { AcceptedDomainRecord } from '../directory/records.js';
import { InterchangeError } from '../errors/interchange-error.js';

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*$`);

/**
 * Exchange's SmtpDomainWithSubdomains: `contoso.com`, or `*.contoso.com` for
 * the domain and all its subdomains. Lower-cased, as Exchange stores it.
 */
export function parseAcceptedDomainName(value: unknown): string {
  const text = String(value ?? '').trim().toLowerCase().replace(/\.$/, '');
  if (!DOMAIN.test(text) || text.length > 255) {
    throw new InterchangeError('ICX_PARAM_INVALID', `Cannot process argument transformation on parameter 'DomainName'. "${String(value)}" isn't a valid SMTP domain. Use a domain such as contoso.com, or *.contoso.com for a domain and all of its subdomains.`, { parameter: 'DomainName' });
  }
  return text;
}

/** The accepted domains of the organization, asked which one (if any) takes mail for a recipient's domain. */
export class AcceptedDomainTable {
  private readonly entries: { record: AcceptedDomainRecord; base: string; subdomains: boolean }[];

  constructor(records: readonly AcceptedDomainRecord[]) {
    this.entries = records.map((record) => {
      const wildcard = record.domainName.startsWith('*.');
      return { record, base: wildcard ? record.domainName.slice(2) : record.domainName, subdomains: wildcard || record.matchSubDomains };
    });
  }

  get size(): number {
    return this.entries.length;
  }

  /** The most specific accepted domain that covers `domain`: an exact match beats a wildcard over a parent. */
  find(domain: string): AcceptedDomainRecord | undefined {
    const d = domain.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
    let best: { record: AcceptedDomainRecord; score: number } | undefined;
    for (const e of this.entries) {
      let score = -1;
      if (d === e.base) score = e.base.length * 2 + (e.record.domainName.startsWith('*.') ? 0 : 1);
      else if (e.subdomains && d.endsWith('.' + e.base)) score = e.base.length * 2;
      if (score > (best?.score ?? -1)) best = { record: e.record, score };
    }
    return best?.record;
  }

  /** The domain part of an address, as find() wants it. */
  findForAddress(address: string): AcceptedDomainRecord | undefined {
    const at = address.lastIndexOf('@');
    return at < 0 ? undefined : this.find(address.slice(at + 1));
  }
}
