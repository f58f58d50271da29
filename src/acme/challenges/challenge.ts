// What issuance asks of a challenge type (RFC 8555 §8): each type is a small module that is
// started before the order (so a port in use or a DNS key the server refuses fails before the CA
// holds anything), publishes one answer per authorization, and takes every answer away again.
import type { DnsUpdateTarget } from './dns-update.js';

/** As Request-AcmeCertificate -ChallengeType and Get-AcmeCertificate spell them. */
export type ChallengeType = 'Http01' | 'Dns01' | 'TlsAlpn01';
export const CHALLENGE_TYPES: readonly ChallengeType[] = ['Http01', 'Dns01', 'TlsAlpn01'];
export const ACME_NAME: Record<ChallengeType, 'http-01' | 'dns-01' | 'tls-alpn-01'> = { Http01: 'http-01', Dns01: 'dns-01', TlsAlpn01: 'tls-alpn-01' };

/** What a request answers with, and where. */
export type ChallengeChoice = { type: 'Http01'; httpPort: number } | { type: 'Dns01'; dnsUpdate: DnsUpdateTarget } | { type: 'TlsAlpn01'; tlsAlpnPort: number };

export interface Authorization {
  /** The identifier the CA validates: for *.contoso.com, contoso.com. */
  name: string;
  wildcard: boolean;
}

export interface ChallengeSolver {
  readonly type: ChallengeType;
  /** Publishes the answer to one challenge; the function it returns takes it away. */
  prepare(authz: Authorization, token: string, keyAuthorization: string): Promise<() => Promise<void>>;
  /** What the administrator checks when the CA could not validate `name` this way. */
  failureHint(name: string): string;
  /** Stops answering (listeners closed); called once, whatever happened. */
  close(): Promise<void>;
}

export const displayName = (a: Authorization) => (a.wildcard ? `*.${a.name}` : a.name);
