// TLS sessions a Send connector resumes with its next hops.
//
// A resumed handshake spares both ends the certificate signature and chain
// checks, and a connection is made again after every
// SmtpMaxMessagesPerConnection messages (the bench's TLS next hop used 5-10 %
// less CPU). Sessions are kept per client context: a certificate change (or a
// change of the roots it trusts) makes a new context, so a session never
// carries a client certificate the connector no longer names. The next hop's
// certificate is kept with its session: a resumed handshake does not send it
// again, and the logs, the pin and TlsAuthLevel still need it (the session's
// keys prove the peer is the one that showed it).
import type tls from 'node:tls';
import { BoundedMap } from '../../security/bounded-map.js';

export interface ResumableSession {
  session: Buffer;
  peer: tls.PeerCertificate;
}

/** Next hops remembered per client context (a DNS-routed connector meets many), the oldest forgotten first. */
const HOPS_PER_CONTEXT = 1000;

/** null: the hop failed a handshake that offered a session, so it gets full handshakes only. */
const byContext = new WeakMap<tls.SecureContext, BoundedMap<string, ResumableSession | null>>();

function put(context: tls.SecureContext, hop: string, value: ResumableSession | null): void {
  let hops = byContext.get(context);
  if (!hops) byContext.set(context, (hops = new BoundedMap(HOPS_PER_CONTEXT)));
  hops.set(hop, value);
}

/** The session to offer `hop`, if any. */
export function sessionFor(context: tls.SecureContext, hop: string): ResumableSession | undefined {
  return byContext.get(context)?.get(hop) ?? undefined;
}

/** A session the hop issued (unless it is one that gets full handshakes only). */
export function keepSession(context: tls.SecureContext, hop: string, session: ResumableSession): void {
  if (byContext.get(context)?.get(hop) === null) return;
  put(context, hop, session);
}

/** The hop's certificate failed a check: the next connection makes a full handshake and sees the certificate of the day. */
export function forgetSession(context: tls.SecureContext, hop: string): void {
  if (byContext.get(context)?.get(hop)) byContext.get(context)!.delete(hop);
}

/**
 * A handshake that offered a session failed: some servers break on resumption (OpenSSL refuses one
 * without a session id context with alert 80, as Interchange's receive side did). Full handshakes only
 * for that hop from now on, so only that one attempt fails.
 */
export function refuseResumption(context: tls.SecureContext, hop: string): void {
  put(context, hop, null);
}
