import type { SendConnectorRecord } from '../directory/records.js';
import { InterchangeError } from '../errors/interchange-error.js';

const invalid = (message: string, parameter?: string) => new InterchangeError('ICX_CONNECTOR_INVALID', message, { parameter });

/**
 * Exchange's consistency rules for a Send connector (reference §3.3), checked
 * on the connector as it would be saved. `specified` names the parameters of
 * this command, since a few rules only apply to what the command itself set.
 */
export function validateSendConnector(c: SendConnectorRecord, specified: ReadonlySet<string>): void {
  if (c.addressSpaces.length === 0) {
    throw invalid(
      'Did you forget the address space? Please identify the domains to which this Send connector routes mail. Use the AddressSpaces parameter, for example -AddressSpaces "contoso.com" or -AddressSpaces "*" for all domains.',
      'AddressSpaces',
    );
  }
  if (c.requireTls && c.ignoreStartTls) throw invalid("RequireTLS and IgnoreTLS can't both be set.", 'IgnoreSTARTTLS');
  if (c.tlsAuthLevel !== null && !c.requireTls) throw invalid("The TLSAuthLevel parameter can't be set if the RequireTLS parameter is set to $false.", 'TlsAuthLevel');
  if (c.tlsAuthLevel !== null && c.domainSecureEnabled) throw invalid("The TLSAuthLevel parameter can't be set if the DomainSecureEnabled parameter is set to $true.", 'TlsAuthLevel');
  if (c.tlsDomain !== null && c.tlsAuthLevel !== 'DomainValidation') {
    throw invalid('The TLSDomain parameter can only be set if the TLSAuthLevel parameter is set to DomainValidation.', 'TlsDomain');
  }
  if (!c.dnsRoutingEnabled && c.smartHosts.length === 0) throw invalid('You must specify a smart host if you are not using DNS to route mails.', 'SmartHosts');
  if (c.tlsAuthLevel === 'DomainValidation' && !c.dnsRoutingEnabled && !c.tlsDomain) {
    throw invalid(
      "The TLSAuthLevel parameter can't be set to DomainValidation on a smarthost Send connector without specifying a valid TLS domain in the TLSDomain parameter.",
      'TlsDomain',
    );
  }
  if (specified.has('SmartHostAuthMechanism') && c.smartHostAuthMechanism !== 'None' && c.dnsRoutingEnabled) {
    throw invalid('You must set the DNSRoutingEnabled parameter to $false to be able to specify SmartHostAuthMechanism. ', 'SmartHostAuthMechanism');
  }
  if ((c.smartHostAuthMechanism === 'BasicAuth' || c.smartHostAuthMechanism === 'BasicAuthRequireTLS') && !c.authenticationCredential) {
    throw invalid('Credentials must be provided if the authentication mechanism is set to Basic Authentication or Basic Authentication over TLS.', 'AuthenticationCredential');
  }
  if (c.domainSecureEnabled && !c.dnsRoutingEnabled) {
    throw invalid("The DomainSecureEnabled parameter can't be set to $True unless the DNSRoutingEnabled parameter is also set to $True.", 'DomainSecureEnabled');
  }
  if (c.domainSecureEnabled && c.ignoreStartTls) {
    throw invalid("The DomainSecureEnabled parameter can't be set to $True if the IgnoreSTARTTLS parameter is set to $True.", 'DomainSecureEnabled');
  }
  if (c.port < 0 || c.port > 65535) throw invalid('The port must be from 0 through 65535.', 'Port');
}

const HOST = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** Smart hosts: FQDNs or IP literals, IPs rendered bracketed as Exchange shows them. Optional `:port` is an Interchange extension. */
export function parseSmartHost(text: string): string {
  const t = text.trim();
  let host: string;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(t);
  if (bracketed) [, host, port] = bracketed;
  else if ((t.match(/:/g) ?? []).length > 1) host = t;
  else [host, port] = t.split(':') as [string, string | undefined];
  if (host === '0.0.0.0') throw invalid("You can't use [0.0.0.0] as the smart host IP address.", 'SmartHosts');
  const isIp = IPV4.test(host) || (host.includes(':') && /^[0-9a-f:.]+$/i.test(host));
  if ((!isIp && !HOST.test(host)) || (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) > 65535))) {
    throw invalid(`"${text}" is not a valid IP address or host name.`, 'SmartHosts');
  }
  const shown = isIp ? `[${host}]` : host.toLowerCase();
  return port ? `${shown}:${port}` : shown;
}
