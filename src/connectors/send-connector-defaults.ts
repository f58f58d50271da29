import crypto from 'node:crypto';
import type { SendConnectorRecord, SendConnectorUsage } from '../directory/records.js';

/** 35 MB: the stored default of Custom, Internet and Partner connectors (reference §3.2). */
export const DEFAULT_SEND_MAX_MESSAGE_SIZE = 35 * 1024 * 1024;

/** A Send connector as New-SendConnector creates it before its parameters are applied (Exchange's defaults per usage). */
export function defaultSendConnector(opts: { name: string; usage?: SendConnectorUsage; sourceServer: string; now: Date; guid?: string }): SendConnectorRecord {
  const usage = opts.usage ?? 'Custom';
  return {
    guid: opts.guid ?? crypto.randomUUID(),
    name: opts.name,
    addressSpaces: [],
    smartHosts: [],
    dnsRoutingEnabled: true,
    sourceTransportServers: [opts.sourceServer],
    usage,
    port: 25,
    fqdn: null,
    requireTls: false,
    tlsAuthLevel: null,
    tlsDomain: null,
    tlsCertificateName: null,
    ignoreStartTls: false,
    maxMessageSize: usage === 'Internal' ? null : DEFAULT_SEND_MAX_MESSAGE_SIZE,
    protocolLoggingLevel: 'None',
    enabled: true,
    connectionInactivityTimeOut: 10 * 60_000,
    smartHostAuthMechanism: 'None',
    authenticationCredential: null,
    comment: '',
    domainSecureEnabled: usage === 'Partner',
    forceHelo: false,
    smtpMaxMessagesPerConnection: 20,
    useExternalDnsServersEnabled: false,
    cloudServicesMailEnabled: false,
    whenCreated: opts.now,
    whenChanged: opts.now,
  };
}
