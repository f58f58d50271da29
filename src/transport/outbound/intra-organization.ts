// The Send connector runtime of mail between servers of one organization
// (Redirect-Message, and mail for a connector sourced on other servers): the
// client certificate is this server's internal transport certificate, and the
// next hop must present the target's.
import tls from 'node:tls';
import { intraOrganizationConnector, type RedirectTarget } from '../routing/redirect.js';
import type { SendConnectorRuntime, TransportSnapshot } from '../service/config-snapshot.js';
import type { TlsMaterial } from '../service/tls-material.js';
import { DeliveryError, type ConnectTarget } from './smtp-client.js';

/**
 * One client context per internal transport certificate, made when mail first goes to another server. It trusts no
 * roots: the target is authenticated by the thumbprint it must present (the pin), not by a chain.
 */
const contexts = new WeakMap<TlsMaterial, tls.SecureContext>();

export function intraOrganizationRuntime(snapshot: Pick<TransportSnapshot, 'server' | 'internalTransport' | 'builtAt'>, target: RedirectTarget): SendConnectorRuntime {
  const material = snapshot.internalTransport;
  if (!material) {
    throw new DeliveryError(`454 4.7.5 Server ${snapshot.server.name} has no usable internal transport certificate to authenticate to ${target.serverName} with`, false, true);
  }
  let secureContext = contexts.get(material);
  if (!secureContext) contexts.set(material, (secureContext = tls.createSecureContext({ cert: material.certPem, key: material.keyPem })));
  return {
    record: intraOrganizationConnector(snapshot.server.name, target, snapshot.builtAt),
    fqdn: snapshot.server.fqdn,
    clientCertificate: { kind: 'named', material },
    secureContext,
    pinnedServerThumbprint: target.thumbprint,
  };
}

export function intraOrganizationTarget(target: RedirectTarget): ConnectTarget {
  return { host: target.host, port: target.port, name: target.fqdn };
}
