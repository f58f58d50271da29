import type { QueuedMessage, QueuedMessageStatus } from './types.js';

/**
 * The on-disk form of a message's metadata. Versioned so a later format can
 * read what an older build left in the spool.
 */
interface MetadataV1 {
  v: 1;
  id: number;
  from: string;
  recipients: string[];
  pendingRecipients: string[];
  deliveredRecipients: string[];
  failedRecipients: Array<{ recipient: string; reply: string }>;
  size: number;
  receivedAt: string;
  expiresAt: string;
  status: QueuedMessageStatus;
  attempts: number;
  nextAttemptAt?: string;
  lastError?: string;
  queueIdentity?: string;
  sourceConnector?: string;
  sourceIp?: string;
  internetMessageId?: string;
  subject?: string;
  /** Written only when non-zero / true; older documents lack them. */
  crashCount?: number;
  poison?: boolean;
  /** Written only when true; documents from before it read as false. */
  smtpUtf8?: boolean;
  originating?: boolean;
}

const STATUSES: ReadonlySet<string> = new Set(['Ready', 'Active', 'Retry', 'Suspended', 'PendingRemove']);

export function serializeMetadata(m: QueuedMessage): Buffer {
  return Buffer.from(JSON.stringify(toMetadataDoc(m)) + '\n', 'utf8');
}

/** The metadata as a plain JSON document (also embedded in the body file's trailer). */
export function toMetadataDoc(m: QueuedMessage): unknown {
  const doc: MetadataV1 = {
    v: 1,
    id: m.id,
    from: m.from,
    recipients: m.recipients,
    pendingRecipients: m.pendingRecipients,
    deliveredRecipients: m.deliveredRecipients,
    failedRecipients: m.failedRecipients,
    size: m.size,
    receivedAt: m.receivedAt.toISOString(),
    expiresAt: m.expiresAt.toISOString(),
    status: m.status,
    attempts: m.attempts,
    nextAttemptAt: m.nextAttemptAt?.toISOString(),
    lastError: m.lastError,
    queueIdentity: m.queueIdentity,
    sourceConnector: m.sourceConnector,
    sourceIp: m.sourceIp,
    internetMessageId: m.internetMessageId,
    subject: m.subject,
    crashCount: m.crashCount ? m.crashCount : undefined,
    poison: m.poison ? true : undefined,
    smtpUtf8: m.smtpUtf8 ? true : undefined,
    originating: m.originating ? true : undefined,
  };
  return doc;
}

/** Parses a metadata file; throws on anything that is not a complete, valid document. */
export function parseMetadata(text: string): QueuedMessage {
  return fromMetadataDoc(JSON.parse(text));
}

export function fromMetadataDoc(value: unknown): QueuedMessage {
  if (typeof value !== 'object' || value === null) throw new Error('metadata is not an object');
  const doc = value as Partial<MetadataV1>;
  if (doc.v !== 1) throw new Error(`unknown metadata version ${String(doc.v)}`);
  if (typeof doc.id !== 'number' || !Number.isSafeInteger(doc.id)) throw new Error('bad id');
  if (typeof doc.from !== 'string') throw new Error('bad from');
  if (!Array.isArray(doc.recipients) || !Array.isArray(doc.pendingRecipients)) throw new Error('bad recipients');
  if (typeof doc.size !== 'number') throw new Error('bad size');
  if (typeof doc.status !== 'string' || !STATUSES.has(doc.status)) throw new Error('bad status');
  const date = (s: string | undefined, what: string): Date => {
    const d = new Date(s ?? '');
    if (Number.isNaN(d.getTime())) throw new Error(`bad ${what}`);
    return d;
  };
  return {
    id: doc.id,
    from: doc.from,
    recipients: doc.recipients,
    pendingRecipients: doc.pendingRecipients,
    deliveredRecipients: doc.deliveredRecipients ?? [],
    failedRecipients: doc.failedRecipients ?? [],
    size: doc.size,
    receivedAt: date(doc.receivedAt, 'receivedAt'),
    expiresAt: date(doc.expiresAt, 'expiresAt'),
    status: doc.status,
    attempts: doc.attempts ?? 0,
    nextAttemptAt: doc.nextAttemptAt === undefined ? undefined : date(doc.nextAttemptAt, 'nextAttemptAt'),
    lastError: doc.lastError,
    queueIdentity: doc.queueIdentity,
    sourceConnector: doc.sourceConnector,
    sourceIp: doc.sourceIp,
    internetMessageId: doc.internetMessageId,
    subject: doc.subject,
    // Present only when set, so a message reads back exactly as enqueue() built it.
    ...(typeof doc.crashCount === 'number' && Number.isSafeInteger(doc.crashCount) && doc.crashCount > 0 ? { crashCount: doc.crashCount } : {}),
    ...(doc.poison === true ? { poison: true } : {}),
    ...(doc.smtpUtf8 === true ? { smtpUtf8: true } : {}),
    ...(doc.originating === true ? { originating: true } : {}),
  };
}

export function cloneMessage(m: QueuedMessage): QueuedMessage {
  return {
    ...m,
    recipients: [...m.recipients],
    pendingRecipients: [...m.pendingRecipients],
    deliveredRecipients: [...m.deliveredRecipients],
    failedRecipients: m.failedRecipients.map((f) => ({ ...f })),
    receivedAt: new Date(m.receivedAt),
    expiresAt: new Date(m.expiresAt),
    nextAttemptAt: m.nextAttemptAt && new Date(m.nextAttemptAt),
  };
}
