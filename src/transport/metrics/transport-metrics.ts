// What the transport tells its observer (the server's metrics) as mail moves,
// and what it lets the observer read when it is scraped. The transport knows
// nothing of Prometheus: it calls these on hot paths, so an implementation
// must resolve everything per connector once (a cached child counter) and
// make each call an increment, with nothing built per message.
import type { EvaluatedCertificate } from '../../certificate-store/certificate-store.js';

/** Why an SMTP session or a TLS handshake failed, in few words (a label value: keep the set small). */
export type SessionFailureReason = 'connect' | 'greeting' | 'timeout' | 'protocol' | 'certificate' | 'tls' | 'auth' | 'closed';

export interface ReceiveConnectorCounters {
  /** A client connected and was greeted by this connector. */
  sessionOpened(): void;
  /** STARTTLS completed. */
  tlsHandshake(): void;
  tlsFailed(reason: SessionFailureReason): void;
  /** A message was accepted (250) on this connector. */
  messageReceived(): void;
}

export interface SendConnectorCounters {
  sessionOpened(): void;
  sessionFailed(reason: SessionFailureReason): void;
  tlsHandshake(): void;
  tlsFailed(reason: SessionFailureReason): void;
  /** Every recipient for this next hop was accepted; `latencySeconds` since the message was received. */
  sent(latencySeconds: number): void;
  /** A transient failure: the message waits for a retry. */
  deferred(): void;
  /** A permanent failure for at least one recipient. */
  failed(): void;
  /** A non-delivery report was generated. */
  ndr(): void;
}

export interface TransportMetrics {
  receiveConnector(name: string): ReceiveConnectorCounters;
  sendConnector(name: string): SendConnectorCounters;
  /** One fdatasync of the spool took this long. */
  spoolSynced(seconds: number): void;
}

/** One queue as Get-Queue names it, with what the metrics show of it. */
export interface QueueLength {
  identity: string;
  messageCount: number;
  /** A delivery queue (to a next hop, or Unreachable), not Submission or Poison. */
  delivery: boolean;
  /** When its oldest message was received; undefined when empty. */
  oldestReceivedAt: Date | undefined;
}

/** The running state a scrape reads (nothing is counted for it on the way). */
export interface TransportObservation {
  queues(): QueueLength[];
  /** This server's certificates as the configuration in effect evaluated them. */
  certificates(): readonly EvaluatedCertificate[];
  /** Send connectors of this server with a TlsCertificateName, and whether it selects a usable certificate (else 454 4.7.5). */
  namedClientCertificates(): Array<{ connector: string; usable: boolean }>;
  /** Bytes of the spool's segment files. */
  spoolBytes(): number;
}

const noop = () => undefined;
const NO_RECEIVE: ReceiveConnectorCounters = { sessionOpened: noop, tlsHandshake: noop, tlsFailed: noop, messageReceived: noop };
const NO_SEND: SendConnectorCounters = { sessionOpened: noop, sessionFailed: noop, tlsHandshake: noop, tlsFailed: noop, sent: noop, deferred: noop, failed: noop, ndr: noop };

/** For a transport nobody observes (tests that build one directly). */
export const NO_TRANSPORT_METRICS: TransportMetrics = { receiveConnector: () => NO_RECEIVE, sendConnector: () => NO_SEND, spoolSynced: noop };
