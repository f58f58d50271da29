// Which certificates need the administrator's attention. Pure functions over
// the output of Get-ExchangeCertificate and Get-SendConnector.

export interface CertificateRow {
  Server: string;
  Thumbprint: string;
  FriendlyName: string;
  Subject: string;
  Issuer: string;
  NotAfter: string | null;
  Status: string;
}

export interface ConnectorRow {
  Name: string;
  TlsCertificateName: string | null;
  SourceTransportServers: string[];
}

export type AlertKind = 'expired' | 'expiring' | 'missing-on-source-server';

export interface CertificateAlert {
  kind: AlertKind;
  severity: 'error' | 'warning';
  server: string;
  /** Present for alerts about an installed certificate. */
  thumbprint?: string;
  connector?: string;
  text: string;
}

export const EXPIRY_WARNING_DAYS = 90;
const DAY = 86_400_000;

/** `<I>issuer<S>subject`, as Microsoft's article builds TlsCertificateName from a certificate. */
export function tlsCertificateNameOf(c: { Issuer: string; Subject: string }): string {
  return `<I>${c.Issuer}<S>${c.Subject}`;
}

/**
 * Whether a certificate is the one a TlsCertificateName names. The cmdlet
 * layer stores the value with canonical names, rendered as
 * Get-ExchangeCertificate renders Issuer and Subject, so equal names are equal
 * strings apart from case; the issuer part is optional.
 */
export function namedBy(tlsCertificateName: string, c: { Issuer: string; Subject: string }): boolean {
  const m = /^(?:<I>(.*?))?<S>(.*)$/is.exec(tlsCertificateName);
  if (!m) return false;
  const sameSubject = m[2].toLowerCase() === c.Subject.toLowerCase();
  return sameSubject && (m[1] === undefined || m[1] === '' || m[1].toLowerCase() === c.Issuer.toLowerCase());
}

export function daysLeft(notAfter: string | null, now: Date): number | undefined {
  if (!notAfter) return undefined;
  const t = new Date(notAfter).getTime();
  return Number.isNaN(t) ? undefined : Math.floor((t - now.getTime()) / DAY);
}

export function certificateAlerts(certificates: CertificateRow[], connectors: ConnectorRow[], now: Date): CertificateAlert[] {
  const alerts: CertificateAlert[] = [];
  for (const c of certificates) {
    if (c.Status === 'PendingRequest') continue;
    const left = daysLeft(c.NotAfter, now);
    const name = c.FriendlyName || c.Subject;
    if (left === undefined) continue;
    if (new Date(c.NotAfter!).getTime() <= now.getTime()) {
      alerts.push({ kind: 'expired', severity: 'error', server: c.Server, thumbprint: c.Thumbprint, text: `The certificate "${name}" on ${c.Server} expired on ${new Date(c.NotAfter!).toISOString().slice(0, 10)}.` });
    } else if (left < EXPIRY_WARNING_DAYS) {
      alerts.push({ kind: 'expiring', severity: 'warning', server: c.Server, thumbprint: c.Thumbprint, text: `The certificate "${name}" on ${c.Server} expires in ${left} day${left === 1 ? '' : 's'} (${new Date(c.NotAfter!).toISOString().slice(0, 10)}).` });
    }
  }
  for (const k of connectors) {
    if (!k.TlsCertificateName) continue;
    for (const server of k.SourceTransportServers) {
      const installed = certificates.some((c) => c.Server.toLowerCase() === server.toLowerCase() && c.Status !== 'PendingRequest' && namedBy(k.TlsCertificateName!, c));
      if (!installed) {
        alerts.push({
          kind: 'missing-on-source-server',
          severity: 'error',
          server,
          connector: k.Name,
          text: `Send connector "${k.Name}" names the certificate ${k.TlsCertificateName} in TlsCertificateName, but no such certificate is installed on its source server ${server}.`,
        });
      }
    }
  }
  return alerts;
}
