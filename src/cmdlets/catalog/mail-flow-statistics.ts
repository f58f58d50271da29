// Get-MailFlowStatistics (an Interchange extension): the last hours of a
// server's mail flow, one object per sample, from the ring its transport keeps
// in memory. The samples live in their server's process, so a request for
// another server is run by that server's admin API.
import { InterchangeError } from '../../errors/interchange-error.js';
import type { CmdletContext } from '../framework/context.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType } from '../framework/declaration.js';
import { runOnServer } from '../framework/server-fetch.js';
import { type MailFlowSample, perMinute } from '../../observability/mail-flow-statistics.js';
import { resolveServer, resolveServerOrRunning } from './common.js';

export const mailFlowStatisticsType = defineObjectType({
  name: 'MailFlowStatistics',
  properties: [
    { name: 'Server', type: 'String' },
    { name: 'Timestamp', type: 'DateTime' },
    { name: 'IntervalSeconds', type: 'Object' },
    { name: 'MessagesReceived', type: 'Int32' },
    { name: 'MessagesSent', type: 'Int32' },
    { name: 'MessagesDeferred', type: 'Int32' },
    { name: 'MessagesFailed', type: 'Int32' },
    { name: 'ReceivedPerMinute', type: 'Object' },
    { name: 'SentPerMinute', type: 'Object' },
    { name: 'DeferredPerMinute', type: 'Object' },
    { name: 'FailedPerMinute', type: 'Object' },
    { name: 'QueueLength', type: 'Int32' },
    { name: 'OldestMessageAgeSeconds', type: 'Int32' },
  ],
  defaultTableView: ['Timestamp', 'ReceivedPerMinute', 'SentPerMinute', 'DeferredPerMinute', 'FailedPerMinute', 'QueueLength', 'OldestMessageAgeSeconds'],
  defaultListView: [],
});

export function toMailFlowStatistics(server: string, s: MailFlowSample) {
  return {
    $type: 'MailFlowStatistics',
    Server: server,
    Timestamp: new Date(s.at),
    IntervalSeconds: Math.round(s.intervalMs) / 1000,
    MessagesReceived: s.received,
    MessagesSent: s.sent,
    MessagesDeferred: s.deferred,
    MessagesFailed: s.failed,
    ReceivedPerMinute: perMinute(s.received, s.intervalMs),
    SentPerMinute: perMinute(s.sent, s.intervalMs),
    DeferredPerMinute: perMinute(s.deferred, s.intervalMs),
    FailedPerMinute: perMinute(s.failed, s.intervalMs),
    QueueLength: s.queueLength,
    OldestMessageAgeSeconds: s.oldestMessageAgeSeconds,
  };
}

async function forward(ctx: CmdletContext, serverName: string, parameters: Record<string, unknown>): Promise<unknown[]> {
  const server = await resolveServer(ctx.services.directory, serverName);
  return runOnServer(ctx, server, 'Get-MailFlowStatistics', parameters, (detail) => new InterchangeError('ICX_TRANSPORT_UNREACHABLE', `Can't read the mail flow statistics of "${server.name}": ${detail}.`));
}

export function mailFlowStatisticsCmdlets(): CmdletDeclaration[] {
  const get = defineCmdlet({
    name: 'Get-MailFlowStatistics',
    synopsis: 'Shows the mail flow of a server over the last hours: messages received, sent, deferred and failed per minute, the length of its delivery queues and the age of their oldest message (Interchange extension).',
    description:
      "An Interchange extension; Exchange has no such cmdlet. The transport service samples its own counters (the ones its Prometheus metrics show) once a minute and keeps the last 24 hours in memory: one object per sample, oldest first. MessagesReceived, MessagesSent, MessagesDeferred and MessagesFailed count what happened in the sample's interval (IntervalSeconds, ending at Timestamp); the *PerMinute properties are the same as rates. QueueLength is the sum of the delivery queues' MessageCount (Get-Queue) at Timestamp, OldestMessageAgeSeconds the age of their oldest message. The samples start when the server process starts and are not kept across restarts.",
    parameters: [
      { name: 'Server', type: 'String', description: 'The server whose statistics to show (name or FQDN). Default: the connected server.' },
      { name: 'Hours', type: 'Int32', range: [1, 24], description: 'Samples of the last this many hours (1 to 24; default 24).' },
    ],
    outputType: 'MailFlowStatistics',
    role: 'Exchange Servers',
    changesState: false,
    examples: [
      { code: 'Get-MailFlowStatistics -Hours 1 | Format-Table Timestamp,ReceivedPerMinute,SentPerMinute,QueueLength', remarks: 'The mail flow of the connected server over the last hour.' },
      { code: 'Get-MailFlowStatistics -Server EX02 | Where-Object { $_.DeferredPerMinute -gt 0 }', remarks: 'The minutes in which EX02 deferred deliveries.' },
    ],
    async run(ctx, p) {
      const server = await resolveServerOrRunning(ctx, (p.Server as string | undefined) ?? ctx.services.localServer);
      if (server.name.toLowerCase() !== ctx.services.localServer.toLowerCase()) {
        const { Server: _s, ...rest } = p;
        return forward(ctx, server.name, rest);
      }
      const reader = ctx.services.mailFlow;
      if (!reader) throw new InterchangeError('ICX_TRANSPORT_STOPPED', `The server "${server.name}" runs no transport service in this process, so it keeps no mail flow statistics.`);
      const hours = (p.Hours as number | undefined) ?? 24;
      const since = ctx.services.clock().getTime() - hours * 3_600_000;
      return reader.samples(since).map((s) => toMailFlowStatistics(server.name, s));
    },
  });
  return [get];
}
