// Get-QueueDigest: the delivery queues of many servers at once, grouped, as
// Exchange's cmdlet shows them (one row per next hop, status, last error …).
// Exchange reads a digest its servers publish every minute; Interchange asks
// each server for its queues at the time of the call, so nothing is stale.
import { InterchangeError } from '../../errors/interchange-error.js';
import type { CmdletContext } from '../framework/context.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType } from '../framework/declaration.js';
import { parseOPathFilter } from '../framework/opath-filter.js';
import { resolveServer } from './common.js';
import { filterInSlices, onServer } from './queues.js';

export const queueDigestType = defineObjectType({
  name: 'QueueDigestPresentationObject',
  properties: [
    { name: 'GroupByValue', type: 'String' },
    { name: 'MessageCount', type: 'Int32' },
    { name: 'DeferredMessageCount', type: 'Int32' },
    { name: 'LockedMessageCount', type: 'Int32' },
    { name: 'StaleMessageCount', type: 'Int32' },
    { name: 'IncomingRate', type: 'Object' },
    { name: 'OutgoingRate', type: 'Object' },
    { name: 'Velocity', type: 'Object' },
    { name: 'Details', type: 'Object', multiValued: true },
  ],
  defaultTableView: ['GroupByValue', 'MessageCount', 'DeferredMessageCount', 'LockedMessageCount', 'StaleMessageCount', 'Details'],
  defaultListView: [],
});

export const GROUP_BY = ['NextHopDomain', 'NextHopCategory', 'NextHopKey', 'DeliveryType', 'Status', 'RiskLevel', 'LastError', 'ServerName', 'OutboundIPPool'] as const;
export type QueueDigestGroupBy = (typeof GROUP_BY)[number];
export const DETAILS_LEVELS = ['None', 'Basic', 'Verbose'] as const;
export type DetailsLevel = (typeof DETAILS_LEVELS)[number];

/** Exchange leaves out queues with fewer messages than this (its QueueLoggingThreshold), so a digest shows only what needs attention. */
export const QUEUE_DIGEST_THRESHOLD = 10;

type Queue = Record<string, unknown>;

/** The group a queue falls in. Queues are in no outbound IP pool and at no risk level on premises: Exchange shows 0 and Normal. */
function groupValue(q: Queue, by: QueueDigestGroupBy): string {
  switch (by) {
    case 'NextHopDomain': return String(q.NextHopDomain ?? '');
    case 'NextHopCategory': return String(q.NextHopCategory ?? '');
    case 'NextHopKey': return `${q.DeliveryType}:${q.NextHopDomain}:${q.NextHopConnector ?? ''}`;
    case 'DeliveryType': return String(q.DeliveryType ?? '');
    case 'Status': return String(q.Status ?? '');
    case 'LastError': return String(q.LastError ?? '');
    case 'ServerName': return String(q.Server ?? String(q.Identity).split('\\')[0]);
    case 'RiskLevel': return 'Normal';
    case 'OutboundIPPool': return '0';
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * The digest of `queues` (each Get-Queue object carries its Server): the
 * delivery and Unreachable queues holding at least `threshold` messages,
 * grouped, the fullest group first. Pure, so it is table-tested.
 */
export function digestQueues(queues: readonly Queue[], by: QueueDigestGroupBy, details: DetailsLevel, threshold = QUEUE_DIGEST_THRESHOLD): Queue[] {
  const groups = new Map<string, Queue[]>();
  for (const q of queues) {
    const name = String(q.Identity).split('\\').pop()?.toLowerCase();
    if (name === 'submission' || name === 'poison') continue;
    if (num(q.MessageCount) < threshold) continue;
    const key = groupValue(q, by);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(q);
  }
  const rows = [...groups].map(([value, members]) => {
    const sum = (p: string) => members.reduce((n, q) => n + num(q[p]), 0);
    const incoming = round(sum('IncomingRate'));
    const outgoing = round(sum('OutgoingRate'));
    return {
      $type: 'QueueDigestPresentationObject',
      GroupByValue: value,
      MessageCount: sum('MessageCount'),
      DeferredMessageCount: sum('DeferredMessageCount'),
      LockedMessageCount: sum('LockedMessageCount'),
      StaleMessageCount: 0,
      IncomingRate: incoming,
      OutgoingRate: outgoing,
      Velocity: round(outgoing - incoming),
      Details: details === 'None' ? [] : members.map((q) => (details === 'Basic' ? String(q.Identity) : verbose(q))),
    };
  });
  return rows.sort((a, b) => b.MessageCount - a.MessageCount || (a.GroupByValue < b.GroupByValue ? -1 : a.GroupByValue > b.GroupByValue ? 1 : 0));
}

function verbose(q: Queue): string {
  const parts = [`${q.Identity}`, `Status=${q.Status}`, `MessageCount=${q.MessageCount}`, `DeliveryType=${q.DeliveryType}`];
  if (q.LastError) parts.push(`LastError=${q.LastError}`);
  return parts.join('; ');
}

/** The queues of one server, or the warning that says why it could not answer. */
async function queuesOf(ctx: CmdletContext, server: string): Promise<Queue[]> {
  try {
    const queues = (await onServer(ctx, 'Get-Queue', {}, server, (v) => v.getQueues())) as Queue[];
    return queues.map((q) => ({ ...q, Server: q.Server ?? server }));
  } catch (e) {
    if (!(e instanceof InterchangeError) || (e.code !== 'ICX_TRANSPORT_STOPPED' && e.code !== 'ICX_TRANSPORT_UNREACHABLE')) throw e;
    ctx.writeWarning(`The queues of server ${server} are not in the digest: ${e.message}`);
    return [];
  }
}

export function queueDigestCmdlets(): CmdletDeclaration[] {
  const getQueueDigest = defineCmdlet({
    name: 'Get-QueueDigest',
    synopsis: 'Shows the delivery queues of several servers, or of the whole organization, grouped by next hop, status, last error or server.',
    description:
      "As in Exchange, only queues holding 10 messages or more are counted (Submission and Poison are left out), and the fullest group comes first. Each server is asked for its queues when the cmdlet runs; a server whose transport can't be reached is named in a warning and the others are still shown.",
    parameterSets: ['Server', 'Forest'],
    defaultParameterSet: 'Server',
    parameters: [
      { name: 'Server', type: 'String', multiValued: true, sets: ['Server'], mandatory: ['Server'], description: 'The servers whose queues to digest (names or FQDNs).' },
      { name: 'Forest', type: 'SwitchParameter', sets: ['Forest'], mandatory: ['Forest'], description: 'Every server of the organization.' },
      { name: 'GroupBy', type: 'Enum', values: [...GROUP_BY], description: 'What the rows are: NextHopDomain (default), NextHopCategory, NextHopKey, DeliveryType, Status, LastError, ServerName, RiskLevel, OutboundIPPool.' },
      { name: 'DetailsLevel', type: 'Enum', values: [...DETAILS_LEVELS], description: 'Details of each row: None, Basic (default: the queue identities), Verbose (each queue with its status, count and last error).' },
      { name: 'Filter', type: 'String', description: "OPath conditions on the queues, joined by -and, e.g. \"Status -eq 'Retry'\"." },
      { name: 'ResultSize', type: 'Int32', allowUnlimited: true, range: [1, 2147483647], description: 'At most this many rows (default 1000); Unlimited for all.' },
      { name: 'Timeout', type: 'TimeSpan', description: 'Accepted for compatibility; each server answers within the admin API timeout.' },
    ],
    outputType: 'QueueDigestPresentationObject',
    role: 'Transport Queues',
    changesState: false,
    examples: [
      { code: 'Get-QueueDigest -Forest', remarks: 'The queues of the organization holding 10 messages or more, by next hop.' },
      { code: 'Get-QueueDigest -Server EX01,EX02 -GroupBy LastError -DetailsLevel Verbose', remarks: 'Why mail waits on EX01 and EX02, one row per error.' },
    ],
    async run(ctx, p) {
      const filter = typeof p.Filter === 'string' ? parseOPathFilter(p.Filter) : undefined;
      const names = p.Forest
        ? (await ctx.services.directory.listServers()).map((s) => s.name)
        : await Promise.all((p.Server as string[]).map(async (s) => (await resolveServer(ctx.services.directory, s)).name));
      const unique = [...new Map(names.map((n) => [n.toLowerCase(), n])).values()];
      let queues = (await Promise.all(unique.map((s) => queuesOf(ctx, s)))).flat();
      if (filter) queues = await filterInSlices(queues, filter);
      const rows = digestQueues(queues, (p.GroupBy as QueueDigestGroupBy | undefined) ?? 'NextHopDomain', (p.DetailsLevel as DetailsLevel | undefined) ?? 'Basic');
      const limit = 'ResultSize' in p ? ((p.ResultSize as number | null) ?? null) : 1000;
      return limit === null ? rows : rows.slice(0, limit);
    },
  });
  return [getQueueDigest];
}
