// Why an outbound session could not be opened, from the reply the delivery
// engine records as the queue's LastError: a handful of label values, so that
// a dashboard can tell a certificate problem (454 4.7.5) from a host that is down.
import type { SessionFailureReason } from './transport-metrics.js';

export interface ClassifiedFailure {
  reason: SessionFailureReason;
  /** The failure happened in or because of TLS (counted as a TLS handshake failure too). */
  tls: boolean;
}

export function classifySessionFailure(reply: string): ClassifiedFailure {
  if (reply.startsWith('454 4.7.5')) return { reason: 'certificate', tls: true };
  if (reply.includes(' 4.4.317 ') || reply.startsWith('451 4.7.4')) return { reason: 'tls', tls: true };
  if (reply.includes('LogonDenied') || reply.startsWith('451 4.7.0')) return { reason: 'auth', tls: false };
  if (reply.includes('timed out') || reply.includes(' 4.4.2 ')) return { reason: 'timeout', tls: false };
  if (reply.includes('Unable to connect')) return { reason: 'connect', tls: false };
  if (reply.includes('closed the connection') || reply.includes('Connection closed') || reply.includes('Connection error')) return { reason: 'closed', tls: false };
  return { reason: 'protocol', tls: false };
}
