import { identifierMatches, parseSmtpX509Identifier } from '../connectors/smtp-x509-identifier.js';
import type { SendConnectorRecord } from '../directory/records.js';
import type { EvaluatedCertificate } from './certificate-store.js';

export type CertificateAlertKind = 'Expired' | 'ExpiresSoon' | 'MissingOnSourceServer';

export interface CertificateAlert {
  kind: CertificateAlertKind;
  severity: 'Error' | 'Warning';
  server: string;
  thumbprint: string | null;
  connector: string | null;
  notAfter: Date | null;
  message: string;
}

/** Exchange warns (events 12017/12018, the EAC notification viewer) this long before expiry. */
export const EXPIRY_WARNING_DAYS = 90;
const DAY = 86_400_000;
const day = (d: Date) => d.toISOString().slice(0, 10);

/**
 * What needs the administrator's attention about certificates: expired ones,
 * ones expiring soon, and Send connectors whose TlsCertificateName selects no
 * usable certificate on one of their source servers (the transport would
 * answer 454 4.7.5 there).
 */
export function certificateAlerts(certs: readonly EvaluatedCertificate[], connectors: readonly SendConnectorRecord[], now: Date, warningDays = EXPIRY_WARNING_DAYS): CertificateAlert[] {
  const alerts: CertificateAlert[] = [];
  for (const c of certs) {
    if (c.status === 'PendingRequest') continue;
    const name = c.record.friendlyName || c.facts.subject;
    const left = Math.floor((c.facts.notAfter.getTime() - now.getTime()) / DAY);
    const base = { server: c.server.name, thumbprint: c.thumbprint, connector: null, notAfter: c.facts.notAfter };
    if (c.facts.notAfter.getTime() <= now.getTime()) {
      alerts.push({ ...base, kind: 'Expired', severity: 'Error', message: `The certificate "${name}" on ${c.server.name} expired on ${day(c.facts.notAfter)}.` });
    } else if (left < warningDays) {
      alerts.push({ ...base, kind: 'ExpiresSoon', severity: 'Warning', message: `The certificate "${name}" on ${c.server.name} expires in ${left} day${left === 1 ? '' : 's'} (${day(c.facts.notAfter)}).` });
    }
  }
  for (const k of connectors) {
    if (!k.tlsCertificateName || !k.enabled) continue;
    const id = parseSmtpX509Identifier(k.tlsCertificateName);
    for (const server of k.sourceTransportServers) {
      const named = certs.filter((c) => c.server.name.toLowerCase() === server.toLowerCase() && c.status !== 'PendingRequest' && identifierMatches(id, c.facts));
      if (named.some((c) => c.status === 'Valid' && c.hasPrivateKey)) continue;
      const why = named.length
        ? `the matching certificate${named.length > 1 ? 's' : ''} on its source server ${server} ${named.length > 1 ? 'are' : 'is'} not usable (${named.map((c) => `${c.thumbprint}: ${c.status}${c.hasPrivateKey ? '' : ', no private key'}`).join('; ')})`
        : `no such certificate is installed on its source server ${server}`;
      alerts.push({
        kind: 'MissingOnSourceServer',
        severity: 'Error',
        server,
        thumbprint: null,
        connector: k.name,
        notAfter: null,
        message: `Send connector "${k.name}" names the certificate ${k.tlsCertificateName} in TlsCertificateName, but ${why}.`,
      });
    }
  }
  return alerts;
}
