// Domain security (Set-TransportConfig's TLSSendDomainSecureList and
// TLSReceiveDomainSecureList): mail to or from a partner domain in these lists
// travels only over TLS with a certificate that validates, chain and name, for
// that domain. Pure: the lists, the domain and what the session proved in, the
// decision out; the sockets act on it (outbound/smtp-client, inbound/smtp-session).
import type { SendConnectorRecord, TlsAuthLevel } from '../../directory/records.js';

/** The domain-secure list entry that names `domain`, if any: exact names only, as the lists allow no wildcards. */
export function domainSecureEntry(list: ReadonlySet<string>, domain: string): string | undefined {
  const d = domain.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  return list.has(d) ? d : undefined;
}

/** What a Send connector's session to a next hop demands of TLS. */
export interface OutboundTlsPolicy {
  requireTls: boolean;
  ignoreStartTls: boolean;
  tlsAuthLevel: TlsAuthLevel | null;
  tlsDomain: string | null;
  /** Set when the mail is domain-secured: the partner domain the next hop must prove it serves. */
  domainSecure?: string;
}

/**
 * The connector's own TLS settings, or, for a domain-secured recipient domain, STARTTLS required (whatever
 * IgnoreSTARTTLS says) and the next hop's certificate validated, chain and name, for that domain: the mail
 * is never sent in the clear or to a host that does not prove it is the partner's.
 */
export function outboundTlsPolicy(connector: Pick<SendConnectorRecord, 'requireTls' | 'ignoreStartTls' | 'tlsAuthLevel' | 'tlsDomain'>, domainSecure: string | undefined): OutboundTlsPolicy {
  if (domainSecure) return { requireTls: true, ignoreStartTls: false, tlsAuthLevel: 'DomainValidation', tlsDomain: domainSecure, domainSecure };
  return { requireTls: connector.requireTls, ignoreStartTls: connector.ignoreStartTls, tlsAuthLevel: connector.tlsAuthLevel, tlsDomain: connector.tlsDomain };
}

/** What an inbound session proved when MAIL FROM names a sender. */
export interface InboundTlsFacts {
  /** The Receive connector offers TLS (AuthMechanism Tls): domain security applies on such connectors. */
  connectorOffersTls: boolean;
  secure: boolean;
  /** The client presented a certificate in the TLS handshake. */
  clientCertificate: boolean;
  /** Why the client's certificate does not validate for the sender's domain; undefined when it does. */
  certificateProblem: (domain: string) => string | undefined;
}

/**
 * Exchange documents no reply text for a domain-secured sender refused; this is inferred in the 530 5.7.1
 * family (not authorized) and names what was missing, so the partner's administrator can tell.
 */
export const domainSecureRefusal = (domain: string, why: string) => `530 5.7.1 Not authorized: mail from ${domain} must come domain-secured (${why})`;

/** The reply that refuses a sender of a domain in TLSReceiveDomainSecureList, or undefined to go on. */
export function inboundDomainSecureRefusal(list: ReadonlySet<string>, senderDomain: string, facts: InboundTlsFacts): string | undefined {
  const domain = domainSecureEntry(list, senderDomain);
  if (!domain || !facts.connectorOffersTls) return undefined;
  if (!facts.secure) return domainSecureRefusal(domain, 'STARTTLS first, with a client certificate for the domain');
  if (!facts.clientCertificate) return domainSecureRefusal(domain, 'no client certificate was presented in TLS');
  const problem = facts.certificateProblem(domain);
  return problem ? domainSecureRefusal(domain, problem) : undefined;
}
