// What Get-Queue and Get-Message show (reference §8), and the queue actions,
// over the delivery engine of a running transport.
import type { QueueViewer } from '../../cmdlets/framework/context.js';
import { formatByteQuantifiedSize } from '../../cmdlets/framework/units.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import type { MailQueueStore, QueuedMessage } from '../queue/index.js';
import type { QueueLength } from '../metrics/transport-metrics.js';
import type { DeliveryEngine } from './delivery-queues.js';
import { queueStatus, type DeliveryQueue } from './delivery-queue.js';

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

export interface QueueViewDeps {
  engine: DeliveryEngine;
  store: MailQueueStore;
  serverName: string;
  /** Throws ICX_TRANSPORT_STOPPED when the service is not running. */
  assertRunning(): void;
}

export function stoppedError(server: string): InterchangeError {
  return new InterchangeError('ICX_TRANSPORT_STOPPED', `Exchange can't connect to the Microsoft Exchange Transport service on computer "${server}". Verify that the service is started.`);
}

export function createQueueViewer(deps: QueueViewDeps): QueueViewer {
  const { engine, store, serverName } = deps;
  const rate = (r: { perSecond(): number }) => Math.round(r.perSecond() * 100) / 100;

  const deliveryQueueObject = (q: DeliveryQueue) => {
    const messages = [...q.members].map((id) => store.get(id)).filter((m): m is QueuedMessage => m !== undefined);
    const incoming = rate(q.incoming);
    const outgoing = rate(q.outgoing);
    return {
      $type: 'ExtensibleQueueInfo',
      Identity: q.identity,
      DeliveryType: q.route.deliveryType,
      NextHopDomain: q.route.nextHopDomain,
      NextHopConnector: q.route.connector.guid,
      // Mail to another server of the organization stays inside it.
      NextHopCategory: q.route.redirectTo || q.route.relayTo ? 'Internal' : 'External',
      Status: queueStatus(q),
      MessageCount: messages.length,
      DeferredMessageCount: messages.filter((m) => engine.messageStatus(m) === 'Retry').length,
      LockedMessageCount: 0,
      LastError: q.lastError ?? null,
      RetryCount: q.retryCount,
      FirstRetryTime: q.firstRetryTime ?? null,
      LastRetryTime: q.lastRetryTime ?? null,
      NextRetryTime: q.nextRetryTime ?? null,
      IncomingRate: incoming,
      OutgoingRate: outgoing,
      Velocity: Math.round((outgoing - incoming) * 100) / 100,
      // Exchange shows a domain-secured queue's partner domain here.
      TlsDomain: q.route.domainSecure ?? q.route.connector.tlsDomain,
      MessageCountsPerPriority: [0, messages.length, 0, 0],
      // Office 365's outbound risk pools; an on-premises server always shows these.
      RiskLevel: 'Normal',
      OutboundIPPool: 0,
      Server: serverName,
    };
  };

  const specialQueue = (name: 'Submission' | 'Unreachable' | 'Poison', messageCount = 0) => ({
    $type: 'ExtensibleQueueInfo',
    Identity: `${serverName}\\${name}`,
    DeliveryType: name === 'Unreachable' ? 'Unreachable' : 'Undefined',
    NextHopDomain: name === 'Submission' ? 'Submission' : name === 'Unreachable' ? 'Unreachable Domain' : 'Poison Message',
    NextHopConnector: ZERO_GUID,
    NextHopCategory: 'Internal',
    Status: 'Ready',
    MessageCount: messageCount,
    DeferredMessageCount: 0,
    LockedMessageCount: 0,
    LastError: null,
    RetryCount: 0,
    FirstRetryTime: null,
    LastRetryTime: null,
    NextRetryTime: null,
    IncomingRate: 0,
    OutgoingRate: 0,
    Velocity: 0,
    TlsDomain: null,
    MessageCountsPerPriority: [0, messageCount, 0, 0],
    RiskLevel: 'Normal',
    OutboundIPPool: 0,
    Server: serverName,
  });

  const messageObject = (m: QueuedMessage) => {
    const q = engine.queueOf(m.id);
    const queueIdentity = m.poison ? `${serverName}\\Poison` : (q?.identity ?? `${serverName}\\Submission`);
    return {
      $type: 'ExtensibleMessageInfo',
      Identity: `${queueIdentity}\\${m.id}`,
      FromAddress: m.from,
      Status: engine.messageStatus(m),
      Size: formatByteQuantifiedSize(m.size),
      SCL: -1,
      Queue: queueIdentity,
      DateReceived: m.receivedAt,
      ExpirationTime: m.expiresAt,
      Subject: m.subject ?? '',
      LastError: m.lastError ?? q?.lastError ?? null,
      RetryCount: m.attempts,
      Recipients: m.pendingRecipients,
      InternetMessageId: m.internetMessageId ?? null,
      MessageSourceName: m.sourceConnector === 'DSN' ? 'DSN' : `SMTP:${m.sourceConnector ?? ''}`,
      SourceIP: m.sourceIp ?? null,
      DeferReason: engine.messageStatus(m) === 'Retry' ? 'TransientFailure' : null,
      Priority: 'Normal',
      Server: serverName,
    };
  };

  /** `EX01\3`, `EX01\contoso.com`, `contoso.com`, `EX01\Submission`. */
  const queueName = (identity: string): string => {
    const i = identity.indexOf('\\');
    return i < 0 ? identity : identity.slice(i + 1);
  };

  /** `EX01\3\12`, `EX01\contoso.com\12`, `EX01\12`, `12`. */
  const messageId = (identity: string): number => {
    const last = identity.split('\\').pop() ?? '';
    if (!/^\d+$/.test(last)) throw new InterchangeError('ICX_PARAM_INVALID', `"${identity}" isn't a valid message identity. Use <Server>\\<Queue>\\<MessageInteger>.`, { parameter: 'Identity' });
    return Number(last);
  };

  const findQueue = (identity: string): DeliveryQueue => engine.findQueue(`${serverName}\\${queueName(identity)}`);

  /** A delivery queue to act on; the Poison queue is acted on only message by message. */
  const actionQueue = (identity: string, action: 'retried' | 'suspended' | 'resumed'): DeliveryQueue => {
    if (queueName(identity).toLowerCase() === 'poison') {
      throw new InterchangeError(
        'ICX_QUEUE_OPERATION_INVALID',
        `The poison message queue "${serverName}\\Poison" can't be ${action}. Use Resume-Message to release a message from it, or Remove-Message to delete one.`,
        { parameter: 'Identity' },
      );
    }
    return findQueue(identity);
  };

  return {
    async getQueues() {
      deps.assertRunning();
      // Submission holds what is stored but not yet in a delivery queue (being categorized).
      const all = store.list();
      const unrouted = all.filter((m) => !engine.queueOf(m.id) && !engine.isCompleting(m.id) && !m.poison).length;
      const out: Array<Record<string, unknown>> = [specialQueue('Submission', unrouted)];
      for (const q of engine.queueList()) out.push(deliveryQueueObject(q));
      out.push(specialQueue('Unreachable'));
      // As in Exchange, the Poison queue is shown only while it holds messages.
      const poisoned = all.filter((m) => m.poison).length;
      if (poisoned > 0) out.push(specialQueue('Poison', poisoned));
      return out;
    },
    async getMessages(queueIdentity?: string) {
      deps.assertRunning();
      let messages = store.list().filter((m) => !engine.isCompleting(m.id));
      if (queueIdentity) {
        const name = queueName(queueIdentity).toLowerCase();
        if (name === 'submission') messages = messages.filter((m) => !engine.queueOf(m.id) && !m.poison);
        else if (name === 'poison') messages = messages.filter((m) => m.poison);
        else if (name === 'unreachable') messages = [];
        else {
          const q = findQueue(queueIdentity);
          messages = messages.filter((m) => q.members.has(m.id));
        }
      }
      return messages.map(messageObject);
    },
    async retryQueue(identity) {
      deps.assertRunning();
      engine.retryQueue(actionQueue(identity, 'retried'));
    },
    async suspendQueue(identity) {
      deps.assertRunning();
      engine.suspendQueue(actionQueue(identity, 'suspended'));
    },
    async resumeQueue(identity) {
      deps.assertRunning();
      engine.resumeQueue(actionQueue(identity, 'resumed'));
    },
    async suspendMessage(identity) {
      deps.assertRunning();
      await engine.suspendMessage(messageId(identity));
    },
    async resumeMessage(identity) {
      deps.assertRunning();
      await engine.resumeMessage(messageId(identity));
    },
    async removeMessage(identity, withNdr) {
      deps.assertRunning();
      await engine.removeMessage(messageId(identity), withNdr);
    },
    async exportMessage(identity) {
      deps.assertRunning();
      const id = messageId(identity);
      const m = store.get(id);
      if (!m || engine.isCompleting(id)) throw new InterchangeError('ICX_MESSAGE_NOT_FOUND', `The message "${identity}" couldn't be found.`, { parameter: 'Identity' });
      // Exchange exports only what cannot change under it: a suspended message, or one in the Poison queue.
      if (!m.poison && engine.messageStatus(m) !== 'Suspended') {
        throw new InterchangeError('ICX_MESSAGE_NOT_SUSPENDED', `The message "${identity}" isn't suspended. Run Suspend-Message -Identity "${identity}" first, then Export-Message.`, { parameter: 'Identity' });
      }
      return store.readBody(id);
    },
    async redirectMessages(target) {
      deps.assertRunning();
      return engine.redirectTo(target);
    },
  };
}

/**
 * The queues Get-Queue lists, with their message count and oldest message, for the metrics. Submission and
 * Unreachable are always there (zero or not) so that an alert on them has a series to read; Poison too.
 */
export function queueLengths(engine: DeliveryEngine, store: MailQueueStore, serverName: string): QueueLength[] {
  const submission: QueueLength = { identity: `${serverName}\\Submission`, messageCount: 0, delivery: false, oldestReceivedAt: undefined };
  const poison: QueueLength = { identity: `${serverName}\\Poison`, messageCount: 0, delivery: false, oldestReceivedAt: undefined };
  const delivery = new Map<DeliveryQueue, QueueLength>();
  // Named by next hop, not by the queue's integer: a queue that idles out and comes back gets a new integer, and a metric's series must not change with it.
  for (const q of engine.queueList()) delivery.set(q, { identity: `${serverName}\\${q.route.nextHopDomain}`, messageCount: 0, delivery: true, oldestReceivedAt: undefined });
  for (const m of store.peek()) {
    if (engine.isCompleting(m.id)) continue;
    const q = m.poison ? undefined : engine.queueOf(m.id);
    const into = m.poison ? poison : q ? delivery.get(q) : submission;
    if (!into) continue;
    into.messageCount++;
    if (!into.oldestReceivedAt || m.receivedAt < into.oldestReceivedAt) into.oldestReceivedAt = m.receivedAt;
  }
  return [submission, ...delivery.values(), { identity: `${serverName}\\Unreachable`, messageCount: 0, delivery: true, oldestReceivedAt: undefined }, poison];
}
