import { identifierMatches, parseSmtpX509Identifier } from '../connectors/smtp-x509-identifier.js';
import type { AcmeManagedCertificateRecord, SendConnectorRecord } from '../directory/records.js';
import type { EvaluatedCertificate } from './certificate-store.js';

export type CertificateAlertKind = 'Expired' | 'ExpiresSoon' | 'MissingOnSourceServer' | 'RotationIncomplete' | 'AcmeRenewalFailing';

export interface CertificateAlert {
  kind: CertificateAlertKind;
  severity: 'Error' | 'Warning';
  server: string;
  thumbprint: string | null;
  /** RotationIncomplete: the renewed certificate that replaces `thumbprint`. */
  newThumbprint: string | null;
  connector: string | null;
  notAfter: Date | null;
  message: string;
  /** The command that resolves the alert, when one command does. */
  command: string | null;
}

/** Exchange warns (events 12017/12018, the EAC notification viewer) this long before expiry. */
export const EXPIRY_WARNING_DAYS = 90;
const DAY = 86_400_000;
const day = (d: Date) => d.toISOString().slice(0, 10);

/**
 * What needs the administrator's attention about certificates: expired ones,
 * ones expiring soon, and Send connectors whose TlsCertificateName selects no
 * usable certificate on one of their source servers (the transport would
 * answer 454 4.7.5 there), and rotations left half done.
 */
export function certificateAlerts(certs: readonly EvaluatedCertificate[], connectors: readonly SendConnectorRecord[], now: Date, warningDays = EXPIRY_WARNING_DAYS): CertificateAlert[] {
  const alerts: CertificateAlert[] = [];
  for (const c of certs) {
    if (c.status === 'PendingRequest') continue;
    const name = c.record.friendlyName || c.facts.subject;
    const left = Math.floor((c.facts.notAfter.getTime() - now.getTime()) / DAY);
    const base = { server: c.server.name, thumbprint: c.thumbprint, newThumbprint: null, connector: null, notAfter: c.facts.notAfter, command: null };
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
        newThumbprint: null,
        connector: k.name,
        notAfter: null,
        message: `Send connector "${k.name}" names the certificate ${k.tlsCertificateName} in TlsCertificateName, but ${why}.`,
        command: null,
      });
    }
    alerts.push(...incompleteRotations(k, certs));
  }
  return alerts;
}

const usable = (c: EvaluatedCertificate) => c.status === 'Valid' && c.hasPrivateKey;
const sameName = (a: EvaluatedCertificate, b: EvaluatedCertificate) => a.facts.issuer.toLowerCase() === b.facts.issuer.toLowerCase() && a.facts.subject.toLowerCase() === b.facts.subject.toLowerCase();

/**
 * A renewal that reached some source servers of a connector and not others:
 * those others still present the older certificate, and removing either one
 * is refused while the connector names them both (the article's trap). The
 * one command that finishes it is Switch-ExchangeCertificate with
 * -DeployToSourceServers, which copies the renewal inside the organization
 * whether or not its key is exportable.
 */
function incompleteRotations(k: SendConnectorRecord, certs: readonly EvaluatedCertificate[]): CertificateAlert[] {
  const id = parseSmtpX509Identifier(k.tlsCertificateName!);
  const on = (server: string) => certs.filter((c) => c.server.name.toLowerCase() === server.toLowerCase() && c.status !== 'PendingRequest' && identifierMatches(id, c.facts));
  const newest = k.sourceTransportServers
    .flatMap(on)
    .filter(usable)
    .sort((a, b) => b.facts.notAfter.getTime() - a.facts.notAfter.getTime())[0];
  if (!newest) return [];
  const alerts: CertificateAlert[] = [];
  for (const server of k.sourceTransportServers) {
    const here = on(server);
    if (here.some((c) => c.thumbprint === newest.thumbprint && usable(c))) continue;
    const old = here.filter((c) => usable(c) && sameName(c, newest) && c.facts.notAfter < newest.facts.notAfter).sort((a, b) => b.facts.notAfter.getTime() - a.facts.notAfter.getTime())[0];
    if (!old) continue;
    const holders = k.sourceTransportServers.filter((s) => on(s).some((c) => c.thumbprint === newest.thumbprint && usable(c)));
    const command = `Switch-ExchangeCertificate -Thumbprint ${old.thumbprint} -NewThumbprint ${newest.thumbprint} -DeployToSourceServers`;
    alerts.push({
      kind: 'RotationIncomplete',
      severity: 'Warning',
      server: old.server.name,
      thumbprint: old.thumbprint,
      newThumbprint: newest.thumbprint,
      connector: k.name,
      notAfter: old.facts.notAfter,
      message: `The renewed certificate ${newest.thumbprint} (expires ${day(newest.facts.notAfter)}) is on ${holders.join(', ')} but not on ${old.server.name}, where Send connector "${k.name}" still uses ${old.thumbprint} (expires ${day(old.facts.notAfter)}); finish the rotation with: ${command}`,
      command,
    });
  }
  return alerts;
}

/** A renewal of an ACME certificate that keeps failing: the CA's error, and when it is tried again. */
export function acmeRenewalAlerts(entries: readonly Pick<AcmeManagedCertificateRecord, 'thumbprint' | 'requestServer' | 'failures' | 'lastError' | 'nextRenewal' | 'notAfter'>[], now: Date): CertificateAlert[] {
  return entries
    .filter((e) => e.failures > 0)
    .map((e) => ({
      kind: 'AcmeRenewalFailing' as const,
      // An error once the certificate has less than a week left: it will expire unrenewed.
      severity: e.notAfter.getTime() - now.getTime() < 7 * DAY ? ('Error' as const) : ('Warning' as const),
      server: e.requestServer,
      thumbprint: e.thumbprint,
      newThumbprint: null,
      connector: null,
      notAfter: e.notAfter,
      message: `The ACME renewal of the certificate ${e.thumbprint} failed ${e.failures} time${e.failures === 1 ? '' : 's'}; it is tried again at ${e.nextRenewal.toISOString()} and expires on ${day(e.notAfter)}. Last error: ${e.lastError ?? 'unknown'}`,
      command: `Update-AcmeCertificate -Thumbprint ${e.thumbprint}`,
    }));
}
