// Queue viewer cmdlets (reference §8). A queue or message identity names its
// server (`EX01\3` or `EX01\contoso.com`, `EX01\3\12`); a request for another
// server is run by that server's admin API, since only its transport holds its queues.
import { parseOPathFilter } from '../framework/opath-filter.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import type { CmdletContext, QueueViewer } from '../framework/context.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType, type ParameterDeclaration } from '../framework/declaration.js';
import { runOnServer } from '../framework/server-fetch.js';
import { redirectEndpoint } from '../../transport/routing/redirect.js';
import { resolveServer, resolveServerOrRunning, sameText } from './common.js';


export const queueType = defineObjectType({
  name: 'ExtensibleQueueInfo',
  properties: [
    { name: 'Identity', type: 'String' },
    { name: 'DeliveryType', type: 'String' },
    { name: 'NextHopDomain', type: 'String' },
    { name: 'NextHopConnector', type: 'Guid' },
    { name: 'NextHopCategory', type: 'String' },
    { name: 'Status', type: 'String' },
    { name: 'MessageCount', type: 'Int32' },
    { name: 'DeferredMessageCount', type: 'Int32' },
    { name: 'LockedMessageCount', type: 'Int32' },
    { name: 'LastError', type: 'String' },
    { name: 'RetryCount', type: 'Int32' },
    { name: 'FirstRetryTime', type: 'DateTime' },
    { name: 'LastRetryTime', type: 'DateTime' },
    { name: 'NextRetryTime', type: 'DateTime' },
    { name: 'IncomingRate', type: 'Object' },
    { name: 'OutgoingRate', type: 'Object' },
    { name: 'Velocity', type: 'Object' },
    { name: 'TlsDomain', type: 'String' },
    { name: 'MessageCountsPerPriority', type: 'Int32', multiValued: true },
    { name: 'RiskLevel', type: 'String' },
    { name: 'OutboundIPPool', type: 'Int32' },
    { name: 'Server', type: 'String' },
  ],
  defaultTableView: ['Identity', 'DeliveryType', 'Status', 'MessageCount', 'Velocity', 'RiskLevel', 'OutboundIPPool', 'NextHopDomain'],
  defaultListView: [],
});

export const messageType = defineObjectType({
  name: 'ExtensibleMessageInfo',
  properties: [
    { name: 'Identity', type: 'String' },
    { name: 'FromAddress', type: 'String' },
    { name: 'Status', type: 'String' },
    { name: 'Size', type: 'ByteQuantifiedSize' },
    { name: 'SCL', type: 'Int32' },
    { name: 'Queue', type: 'String' },
    { name: 'DateReceived', type: 'DateTime' },
    { name: 'ExpirationTime', type: 'DateTime' },
    { name: 'Subject', type: 'String' },
    { name: 'LastError', type: 'String' },
    { name: 'RetryCount', type: 'Int32' },
    { name: 'Recipients', type: 'String', multiValued: true },
    { name: 'InternetMessageId', type: 'String' },
    { name: 'MessageSourceName', type: 'String' },
    { name: 'SourceIP', type: 'String' },
    { name: 'DeferReason', type: 'String' },
    { name: 'Priority', type: 'String' },
    { name: 'Server', type: 'String' },
  ],
  defaultTableView: ['Identity', 'FromAddress', 'Status', 'Size', 'SCL', 'Queue', 'Subject'],
  defaultListView: [],
});

/** `EX01\contoso.com` → `EX01`; an identity without a server part names the connected server. */
function serverPart(identity: string | undefined): string | undefined {
  if (!identity) return undefined;
  const i = identity.indexOf('\\');
  return i > 0 ? identity.slice(0, i) : undefined;
}

async function forward(ctx: CmdletContext, serverName: string, cmdlet: string, parameters: Record<string, unknown>): Promise<unknown[]> {
  const server = await resolveServer(ctx.services.directory, serverName);
  return runOnServer(ctx, server, cmdlet, parameters, (detail) =>
    server.adminUrl
      ? new InterchangeError('ICX_TRANSPORT_STOPPED', `Exchange can't connect to the Microsoft Exchange Transport service on computer "${server.name}". Verify that the service is started.`)
      : new InterchangeError('ICX_TRANSPORT_UNREACHABLE', `Exchange can't connect to the Microsoft Exchange Transport service on computer "${server.name}": ${detail}.`),
  );
}

/** The local queue viewer, or why there is none. */
function localViewer(ctx: CmdletContext): QueueViewer {
  const t = ctx.services.transport;
  if (!t?.queues) {
    throw new InterchangeError('ICX_TRANSPORT_STOPPED', `Exchange can't connect to the Microsoft Exchange Transport service on computer "${ctx.services.localServer}". Verify that the service is started.`);
  }
  return t.queues;
}

/** Runs `local` on the server the identity (or -Server) names, forwarding when that is not this one. */
export async function onServer<T>(ctx: CmdletContext, cmdlet: string, p: Record<string, unknown>, server: string | undefined, local: (v: QueueViewer) => Promise<T>): Promise<T | unknown[]> {
  const target = server ? (await resolveServerOrRunning(ctx, server)).name : ctx.services.localServer;
  if (target.toLowerCase() !== ctx.services.localServer.toLowerCase()) {
    const { Server: _s, ...rest } = p;
    return forward(ctx, target, cmdlet, server && !serverPart(p.Identity as string | undefined) && !serverPart(p.Queue as string | undefined) ? { ...rest, Server: target } : rest);
  }
  return local(localViewer(ctx));
}

const serverParam: ParameterDeclaration = { name: 'Server', type: 'String', description: 'The server whose queues to act on (name or FQDN). Default: the connected server.' };

export function queueCmdlets(): CmdletDeclaration[] {
  const getQueue = defineCmdlet({
    name: 'Get-Queue',
    synopsis: 'Shows the delivery, Submission and Unreachable queues of a server, and its Poison queue when that holds messages.',
    parameters: [
      { name: 'Identity', type: 'String', position: 0, valueFromPipelineByPropertyName: true, description: 'A queue: <Server>\\<QueueInteger> or <Server>\\<NextHopDomain>, <Server>\\Submission, <Server>\\Unreachable, <Server>\\Poison.' },
      serverParam,
      { name: 'Include', type: 'String', multiValued: true, description: 'Only queues of these kinds: Empty, Internal, External, or a DeliveryType.' },
      { name: 'Exclude', type: 'String', multiValued: true, description: 'Leave out queues of these kinds: Empty, Internal, External, or a DeliveryType.' },
      { name: 'Filter', type: 'String', description: "OPath conditions joined by -and, e.g. \"Status -eq 'Retry' -and MessageCount -gt 10\"." },
    ],
    outputType: 'ExtensibleQueueInfo',
    role: 'Transport Queues',
    changesState: false,
    examples: [{ code: 'Get-Queue -Server EX01 | Format-List Identity,Status,MessageCount,LastError,NextRetryTime', remarks: 'The queues of EX01 and why any of them is in Retry.' }],
    async run(ctx, p) {
      const identity = p.Identity as string | undefined;
      // Parsed before reaching the server, so a bad filter is reported as such even when transport is stopped.
      const filter = typeof p.Filter === 'string' ? parseOPathFilter(p.Filter) : undefined;
      return onServer(ctx, 'Get-Queue', p, serverPart(identity) ?? (p.Server as string | undefined), async (v) => {
        let queues = await v.getQueues();
        if (identity) {
          const name = identity.includes('\\') ? identity.slice(identity.indexOf('\\') + 1) : identity;
          queues = queues.filter((q) => String(q.Identity).toLowerCase().endsWith('\\' + name.toLowerCase()) || String(q.NextHopDomain).toLowerCase() === name.toLowerCase());
          if (queues.length === 0) throw new InterchangeError('ICX_QUEUE_NOT_FOUND', `The queue "${identity}" couldn't be found.`);
        }
        const kind = (q: Record<string, unknown>, k: string) => {
          const key = k.toLowerCase();
          if (key === 'empty') return q.MessageCount === 0;
          if (key === 'internal' || key === 'external') return String(q.NextHopCategory).toLowerCase() === key;
          return String(q.DeliveryType).toLowerCase() === key;
        };
        const include = p.Include as string[] | undefined;
        const exclude = p.Exclude as string[] | undefined;
        if (include?.length) queues = queues.filter((q) => include.some((k) => kind(q, k)));
        if (exclude?.length) queues = queues.filter((q) => !exclude.some((k) => kind(q, k)));
        if (filter) queues = await filterInSlices(queues, filter);
        return queues;
      });
    },
  });

  const getMessage = defineCmdlet({
    name: 'Get-Message',
    synopsis: 'Shows the messages in the queues of a server.',
    parameters: [
      { name: 'Identity', type: 'String', position: 0, valueFromPipelineByPropertyName: true, description: 'A message: <Server>\\<Queue>\\<MessageInteger>.' },
      { name: 'Queue', type: 'String', description: 'Only the messages of this queue: <Server>\\<NextHopDomain>, <Server>\\Submission or <Server>\\Poison.' },
      serverParam,
      { name: 'IncludeRecipientInfo', type: 'SwitchParameter', description: 'Accepted for compatibility; Recipients is always filled.' },
      { name: 'Filter', type: 'String', description: "OPath conditions joined by -and, e.g. \"FromAddress -like '*@contoso.com' -and Status -eq 'Retry'\"." },
    ],
    outputType: 'ExtensibleMessageInfo',
    role: 'Transport Queues',
    changesState: false,
    examples: [{ code: 'Get-Message -Queue EX01\\contoso.com | Format-List Identity,FromAddress,Status,LastError', remarks: 'Messages waiting for contoso.com.' }],
    async run(ctx, p) {
      const identity = p.Identity as string | undefined;
      const queue = p.Queue as string | undefined;
      const filter = typeof p.Filter === 'string' ? parseOPathFilter(p.Filter) : undefined;
      return onServer(ctx, 'Get-Message', p, serverPart(identity) ?? serverPart(queue) ?? (p.Server as string | undefined), async (v) => {
        const all = await v.getMessages(queue);
        const messages = filter ? await filterInSlices(all, filter) : all;
        if (!identity) return messages;
        const id = identity.split('\\').pop();
        const found = messages.filter((m) => String(m.Identity).split('\\').pop() === id);
        if (found.length === 0) throw new InterchangeError('ICX_MESSAGE_NOT_FOUND', `The message "${identity}" couldn't be found.`);
        return found;
      });
    },
  });

  const queueAction = (name: string, confirm: string, act: (v: QueueViewer, identity: string) => Promise<void>, description: string): CmdletDeclaration =>
    defineCmdlet({
      name,
      synopsis: description,
      parameters: [{ name: 'Identity', type: 'String', position: 0, mandatory: true, valueFromPipelineByPropertyName: true, description: 'The queue: <Server>\\<NextHopDomain>.' }],
      role: 'Transport Queues',
      changesState: true,
      confirmImpact: 'Medium',
      examples: [{ code: `${name} -Identity EX01\\contoso.com`, remarks: description }],
      async run(ctx, p) {
        const identity = p.Identity as string;
        if (!ctx.shouldProcess(confirm.replace('{0}', identity), identity)) return;
        await onServer(ctx, name, p, serverPart(identity), (v) => act(v, identity));
      },
    });

  const messageAction = (name: string, confirm: string, act: (v: QueueViewer, identity: string, withNdr: boolean) => Promise<void>, description: string, impact: 'Medium' | 'High' = 'Medium'): CmdletDeclaration =>
    defineCmdlet({
      name,
      synopsis: description,
      parameters: [
        { name: 'Identity', type: 'String', position: 0, mandatory: true, valueFromPipelineByPropertyName: true, description: 'The message: <Server>\\<Queue>\\<MessageInteger>.' },
        ...(name === 'Remove-Message' ? [{ name: 'WithNDR', type: 'Boolean', description: 'Send a non-delivery report to the sender (default $true).' } as ParameterDeclaration] : []),
      ],
      role: 'Transport Queues',
      changesState: true,
      confirmImpact: impact,
      examples: [{ code: `${name} -Identity EX01\\contoso.com\\12`, remarks: description }],
      async run(ctx, p) {
        const identity = p.Identity as string;
        if (!ctx.shouldProcess(confirm.replace('{0}', identity), identity)) return;
        await onServer(ctx, name, p, serverPart(identity), (v) => act(v, identity, p.WithNDR === undefined ? true : Boolean(p.WithNDR)));
      },
    });

  const redirectMessage = defineCmdlet({
    name: 'Redirect-Message',
    synopsis:
      'Moves the messages of a server\'s delivery queues to another server of the organization, over SMTP with STARTTLS, the servers authenticating each other by their internal transport certificates. ' +
      'The Poison queue stays; a suspended message moves but stays suspended. A message leaves the server only after the target accepted it (250). ' +
      'The redirect is kept in memory: until the transport service of the server restarts, everything the server routes goes to the target; after a restart it routes normally again.',
    parameters: [
      { name: 'Server', type: 'String', mandatory: true, position: 0, description: 'The server whose queued mail to move (name or FQDN).' },
      { name: 'Target', type: 'String', mandatory: true, description: 'The server of the organization to move it to (FQDN or name).' },
    ],
    role: 'Transport Queues',
    changesState: true,
    confirmImpact: 'High',
    examples: [{ code: 'Set-ServerComponentState EX01 -Component HubTransport -State Draining -Requester Maintenance; Redirect-Message -Server EX01 -Target ex02.contoso.com', remarks: 'Takes EX01 out of mail flow: it takes no new mail, and EX02 delivers what EX01 held.' }],
    async run(ctx, p) {
      const source = await resolveServerOrRunning(ctx, p.Server as string);
      const target = await resolveServer(ctx.services.directory, p.Target as string);
      if (sameText(source.name, target.name)) {
        throw new InterchangeError('ICX_REDIRECT_TARGET_INVALID', `The target server ${target.fqdn} is the server whose messages are to be redirected (${source.name}). Specify another server of the organization.`, { parameter: 'Target' });
      }
      const endpoint = redirectEndpoint(target, await ctx.services.directory.listReceiveConnectors(target.name));
      if (!endpoint.ok) throw new InterchangeError('ICX_REDIRECT_TARGET_INVALID', endpoint.reason, { parameter: 'Target' });
      if (!ctx.shouldProcess(`Redirecting the messages of server "${source.name}" to server "${target.fqdn}".`, source.name)) return;
      await onServer(ctx, 'Redirect-Message', p, source.name, (v) => v.redirectMessages(endpoint.target));
    },
  });

  const exportMessage = defineCmdlet({
    name: 'Export-Message',
    synopsis: 'Copies a suspended message (or one in the Poison queue) out of its queue, as the message file it is: pipe it to AssembleMessage -Path to save it as an .eml file.',
    description:
      'As in Exchange, the message must be suspended first (Suspend-Message); messages in the Poison queue already are. The output is an object whose FileData holds the bytes of the message as queued: the headers Interchange added on receipt (Received) and the content. The message stays in its queue: resume it (Resume-Message) or remove it (Remove-Message) afterwards.',
    parameters: [{ name: 'Identity', type: 'String', position: 0, mandatory: true, valueFromPipelineByPropertyName: true, description: 'The message: <Server>\\<Queue>\\<MessageInteger>, <Queue>\\<MessageInteger> or <MessageInteger>.' }],
    outputType: 'BinaryFileDataObject',
    role: 'Transport Queues',
    changesState: false,
    examples: [
      { code: 'Suspend-Message EX01\\3\\1234 -Confirm:$false; Export-Message EX01\\3\\1234 | AssembleMessage -Path "/var/tmp/message.eml"', remarks: 'Saves a queued message to a file.' },
      {
        code: 'Get-Message -Queue "EX01\\contoso.com" | ForEach-Object { Suspend-Message $_.Identity -Confirm:$false; $Temp = "/var/tmp/export/" + $_.InternetMessageID + ".eml"; $Temp = $Temp.Replace("<","_").Replace(">","_"); Export-Message $_.Identity | AssembleMessage -Path $Temp }',
        remarks: "Exchange's recipe: every message of a queue to a file named after its Message-ID.",
      },
    ],
    async run(ctx, p) {
      const identity = p.Identity as string;
      return onServer(ctx, 'Export-Message', p, serverPart(identity), async (v) => [
        { $type: 'BinaryFileDataObject', Identity: identity, FileData: { $bytes: (await v.exportMessage(identity)).toString('base64') } },
      ]);
    },
  });

  return [
    getQueue,
    getMessage,
    exportMessage,
    redirectMessage,
    queueAction('Retry-Queue', 'Retrying the queue "{0}".', (v, i) => v.retryQueue(i), 'Connects to the next hop of a queue in Retry now instead of at NextRetryTime.'),
    queueAction('Suspend-Queue', 'Suspending the queue "{0}".', (v, i) => v.suspendQueue(i), 'Stops delivery from a queue until Resume-Queue.'),
    queueAction('Resume-Queue', 'Resuming the queue "{0}".', (v, i) => v.resumeQueue(i), 'Resumes delivery from a suspended queue.'),
    messageAction('Suspend-Message', 'Suspending the message "{0}".', (v, i) => v.suspendMessage(i), 'Holds a message in its queue until Resume-Message.'),
    messageAction('Resume-Message', 'Resuming the message "{0}".', (v, i) => v.resumeMessage(i), 'Lets a suspended message be delivered again; a message in the Poison queue is released to categorization.'),
    messageAction('Remove-Message', 'Removing the message "{0}".', (v, i, ndr) => v.removeMessage(i, ndr), 'Deletes a message from its queue, with a non-delivery report to the sender unless -WithNDR $false.', 'High'),
  ];
}

/** A queue of many thousand messages is filtered a slice at a time, so SMTP sessions are served between slices. */
export async function filterInSlices<T>(items: readonly T[], keep: (item: T) => boolean, slice = 1000): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < items.length; i += slice) {
    if (i > 0) await new Promise((r) => setImmediate(r));
    for (let k = i; k < Math.min(i + slice, items.length); k++) if (keep(items[k])) out.push(items[k]);
  }
  return out;
}
