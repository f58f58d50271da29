// Whether a DSN Interchange makes goes to the original sender at all: the
// organization's delay settings (Set-TransportConfig Internal/ExternalDelayDsnEnabled)
// and, for a sender outside the organization, its remote domain's NDREnabled and
// DeliveryReportEnabled. A sender is inside when its domain is an accepted domain.
import type { RemoteDomainRecord, TransportConfigRecord } from '../../directory/records.js';
import type { AcceptedDomainTable } from '../../organization/accepted-domains.js';
import { remoteDomainFor } from '../../organization/remote-domains.js';

export interface DsnPolicyFacts {
  acceptedDomains: Pick<AcceptedDomainTable, 'findForAddress'>;
  remoteDomains: readonly RemoteDomainRecord[];
  config: Pick<TransportConfigRecord, 'internalDelayDsnEnabled' | 'externalDelayDsnEnabled'>;
}

export function dsnWanted(kind: 'failed' | 'delayed', sender: string, facts: DsnPolicyFacts): boolean {
  if (facts.acceptedDomains.findForAddress(sender)) return kind === 'failed' || facts.config.internalDelayDsnEnabled;
  const at = sender.lastIndexOf('@');
  const remote = at < 0 ? undefined : remoteDomainFor(facts.remoteDomains, sender.slice(at + 1));
  if (kind === 'failed') return remote?.ndrEnabled ?? true;
  return facts.config.externalDelayDsnEnabled && (remote?.deliveryReportEnabled ?? true);
}
