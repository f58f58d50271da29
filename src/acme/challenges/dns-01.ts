// dns-01 (RFC 8555 §8.4): the TXT record _acme-challenge.<name> is added on the organization's DNS
// update server (RFC 2136, TSIG-signed) for names that no host answers for, wildcards included.
import { InterchangeError } from '../../errors/interchange-error.js';
import type { ChallengeSolver } from './challenge.js';
import { addTxt, checkUpdateAccess, deleteTxt, type DnsUpdateTarget, findZone, queryTxt } from './dns-update.js';

/** How long the update server may take to answer the record it accepted (a primary answers at once; a hidden-primary setup may lag). */
const VISIBLE_WITHIN_MS = 30_000;

export const recordName = (name: string) => `_acme-challenge.${name.toLowerCase().replace(/^\*\./, '')}`;

/**
 * Finds each name's zone and checks, with an update that changes nothing, that the server takes the
 * key for it: a wrong secret or a zone the key may not touch fails before an order exists.
 */
export async function startDns01(target: DnsUpdateTarget, names: readonly string[]): Promise<ChallengeSolver> {
  const zones = new Map<string, string>();
  for (const n of new Set(names.map(recordName))) zones.set(n, await findZone(target, n));
  for (const zone of new Set(zones.values())) await checkUpdateAccess(target, zone);
  return {
    type: 'Dns01',
    prepare: async (authz, _token, digest) => {
      const name = recordName(authz.name);
      const zone = zones.get(name) ?? (await findZone(target, name));
      await addTxt(target, zone, name, digest, 60);
      const remove = () => deleteTxt(target, zone, name, digest);
      try {
        const deadline = Date.now() + VISIBLE_WITHIN_MS;
        while (!(await queryTxt(target, name)).includes(digest)) {
          if (Date.now() > deadline) {
            throw new InterchangeError('ICX_ACME_DNS_UPDATE_REFUSED', `The DNS update server ${target.server} accepted the TXT record at ${name} but did not answer it within ${VISIBLE_WITHIN_MS / 1000} s.`, {
              details: { server: target.server, zone, keyName: target.keyName, rcode: 'NOERROR', tsigError: null },
            });
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      } catch (e) {
        await remove().catch(() => undefined);
        throw e;
      }
      return remove;
    },
    failureHint: (name) =>
      `The TXT record ${recordName(name)} was on ${target.server} while the request ran; the CA asks the zone's authoritative servers: check that ${target.server} is (or feeds) them, and that the zone is delegated where the CA looks.`,
    close: async () => undefined,
  };
}
