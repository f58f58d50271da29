import type { RemoteDomainRecord } from '../directory/records.js';

/**
 * The remote domain that governs mail to `domain`: the most specific one that names it (an exact domain
 * beats `*.parent`, a nearer parent beats a farther one), else Default.
 */
export function remoteDomainFor(domains: readonly RemoteDomainRecord[], domain: string): RemoteDomainRecord | undefined {
  const d = domain.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  let best: { record: RemoteDomainRecord; score: number } | undefined;
  for (const r of domains) {
    let score = -1;
    if (r.domainName === '*') score = 0;
    else if (r.domainName === d) score = d.length * 2 + 1;
    else if (r.domainName.startsWith('*.')) {
      const base = r.domainName.slice(2);
      if (d === base || d.endsWith('.' + base)) score = base.length * 2;
    }
    if (score > (best?.score ?? -1)) best = { record: r, score };
  }
  return best?.record;
}
