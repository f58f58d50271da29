// One delivery queue in Exchange's model (reference §8): the messages waiting
// for one next hop, the connections draining them, and the retry state Get-Queue
// shows. The engine (delivery-queues.ts) decides what goes in and out; this is
// the queue's own bookkeeping, which every connection of the queue shares.
import { RateCounter } from './rate-counter.js';
import type { Route } from '../routing/route.js';

export type QueueStatus = 'Active' | 'Ready' | 'Retry' | 'Suspended';

export interface DeliveryQueue {
  key: string;
  route: Route;
  identity: string;
  suspended: boolean;
  inRetry: boolean;
  /** Messages waiting for a connection, in arrival order. */
  ready: number[];
  /** Every message whose current next hop is this queue. */
  members: Set<number>;
  connections: number;
  lastError: string | undefined;
  retryCount: number;
  firstRetryTime: Date | undefined;
  lastRetryTime: Date | undefined;
  nextRetryTime: Date | undefined;
  lastActivity: number;
  incoming: RateCounter;
  outgoing: RateCounter;
  /** Idle connections of the queue, each woken by the next message made ready (or by a stop). */
  waiters: Array<() => void>;
}

/** How long an idle outbound connection waits for the next message before QUIT. */
export const IDLE_CONNECTION_MS = 200;

/** An empty queue disappears after QueueMaxIdleTime, as in Exchange (3 minutes). */
export const QUEUE_MAX_IDLE_MS = 180_000;

/** `identity` is Exchange's `<server>\<QueueInteger>`; the next hop is its NextHopDomain. */
export function newDeliveryQueue(key: string, route: Route, identity: string): DeliveryQueue {
  return {
    key,
    route,
    identity,
    suspended: false,
    inRetry: false,
    ready: [],
    members: new Set(),
    connections: 0,
    lastError: undefined,
    retryCount: 0,
    firstRetryTime: undefined,
    lastRetryTime: undefined,
    nextRetryTime: undefined,
    lastActivity: Date.now(),
    incoming: new RateCounter(),
    outgoing: new RateCounter(),
    waiters: [],
  };
}

/** A message is ready: the longest-idle connection of the queue takes it, if one waits. */
export function enqueueReady(q: DeliveryQueue, id: number, front = false): void {
  if (front) q.ready.unshift(id);
  else q.ready.push(id);
  const w = q.waiters.shift();
  if (w) w();
}

/** Every idle connection of the queue looks again (the queue stopped, was suspended or went to Retry). */
export function wakeAll(q: DeliveryQueue): void {
  for (const w of q.waiters.splice(0)) w();
}

/**
 * The next ready message for a connection of the queue, waiting up to IDLE_CONNECTION_MS for one;
 * undefined when none came or `stopped()` says the connection should end.
 */
export async function nextReady(q: DeliveryQueue, stopped: () => boolean): Promise<number | undefined> {
  for (;;) {
    const id = q.ready.shift();
    if (id !== undefined) return id;
    if (stopped() || q.suspended) return undefined;
    const got = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        const i = q.waiters.indexOf(wake);
        if (i >= 0) q.waiters.splice(i, 1);
        resolve(false);
      }, IDLE_CONNECTION_MS);
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      q.waiters.push(wake);
    });
    if (!got) return undefined;
  }
}

/** Get-Queue's Status. */
export function queueStatus(q: Pick<DeliveryQueue, 'suspended' | 'inRetry' | 'connections'>): QueueStatus {
  if (q.suspended) return 'Suspended';
  if (q.inRetry) return 'Retry';
  if (q.connections > 0) return 'Active';
  return 'Ready';
}

/**
 * Whether `identity` names the queue, as Exchange's queue cmdlets take it: the queue's identity
 * (`EX01\3`), its NextHopDomain, or the NextHopDomain after the server's name; case-insensitive.
 */
export function queueMatches(q: Pick<DeliveryQueue, 'identity' | 'route'>, identity: string, serverName: string): boolean {
  const wanted = identity.toLowerCase();
  const hop = q.route.nextHopDomain.toLowerCase();
  return q.identity.toLowerCase() === wanted || hop === wanted || `${serverName.toLowerCase()}\\${hop}` === wanted;
}
