/** Message status, as Get-Message shows it (§8). */
export type QueuedMessageStatus = 'Ready' | 'Active' | 'Retry' | 'Suspended' | 'PendingRemove';

export interface FailedRecipient {
  recipient: string;
  /** The SMTP reply that failed it, e.g. `550 5.1.1 User unknown`. */
  reply: string;
}

export interface QueuedMessage {
  /** Monotonic across restarts; Exchange's MessageInteger. */
  id: number;
  from: string;
  recipients: string[];
  /** Recipients still to deliver to. */
  pendingRecipients: string[];
  deliveredRecipients: string[];
  failedRecipients: FailedRecipient[];
  /** Body size in bytes. */
  size: number;
  receivedAt: Date;
  expiresAt: Date;
  status: QueuedMessageStatus;
  attempts: number;
  nextAttemptAt: Date | undefined;
  lastError: string | undefined;
  /** The delivery queue (next hop) the router assigned, if any. */
  queueIdentity: string | undefined;
  sourceConnector: string | undefined;
  sourceIp: string | undefined;
  internetMessageId: string | undefined;
  subject: string | undefined;
  /**
   * How many times the transport died while processing this message (poison
   * message detection, reference §8). Absent means 0 (messages stored before
   * the field existed, and the initial state written by enqueue).
   */
  crashCount?: number;
  /** In the Poison queue: held (status Suspended) until Resume-Message or Remove-Message. */
  poison?: boolean;
  /** Received with SMTPUTF8 (RFC 6531): passed on only to a next hop that offers it. Absent means false. */
  smtpUtf8?: boolean;
  /** Submitted by an authenticated user or made here (an NDR): message tracking's Directionality Originating. Absent means false. */
  originating?: boolean;
}

export interface EnqueueRequest {
  from: string;
  recipients: string[];
  /** An array is the message in parts (as received), written as they are, never joined. */
  body: Buffer | readonly Buffer[] | AsyncIterable<Buffer>;
  receivedAt?: Date;
  sourceConnector?: string;
  sourceIp?: string;
  internetMessageId?: string;
  subject?: string;
  expiresAt?: Date;
  smtpUtf8?: boolean;
  originating?: boolean;
}

export type QueuedMessagePatch = Partial<
  Pick<
    QueuedMessage,
    | 'status'
    | 'nextAttemptAt'
    | 'attempts'
    | 'lastError'
    | 'pendingRecipients'
    | 'deliveredRecipients'
    | 'failedRecipients'
    | 'queueIdentity'
    | 'crashCount'
    | 'poison'
  >
>;

/** Exchange's MessageExpirationTimeout default: 2 days. */
export const DEFAULT_EXPIRATION_MS = 2 * 24 * 60 * 60 * 1000;
