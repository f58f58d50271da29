// The service-log events Exchange's transport writes about its certificates,
// with Exchange's event IDs (source MSExchangeTransport, category
// TransportService), so that monitoring written for Exchange's event log
// finds the same numbers here. Pure: the configuration in effect in, the
// events out; TransportEventLog decides how often each is written.
import type { TransportSnapshot } from '../service/config-snapshot.js';

export interface TransportEvent {
  eventId: number;
  level: 'error' | 'warn';
  /** What makes two events the same condition (written once per interval). */
  key: string;
  message: string;
}

/** How long before NotAfter a certificate in use is warned about (12017, 12018). */
export const CERTIFICATE_WARNING_DAYS = 30;
const HOUR = 3_600_000;

export function certificateEvents(snapshot: Pick<TransportSnapshot, 'server' | 'receiveConnectors' | 'sendRuntime'>, now: Date, warningDays = CERTIFICATE_WARNING_DAYS): TransportEvent[] {
  const events: TransportEvent[] = [];
  const warnBefore = warningDays * 24 * HOUR;
  const hoursLeft = (notAfter: Date) => Math.max(0, Math.floor((notAfter.getTime() - now.getTime()) / HOUR));

  // The STARTTLS certificates the Receive connectors offer, once each.
  const starttls = new Map<string, { subject: string; notAfter: Date; fqdn: string }>();
  for (const c of snapshot.receiveConnectors) {
    const offersTls = c.record.authMechanism.includes('Tls') || c.record.requireTls;
    if (!offersTls) continue;
    if (!c.tls) {
      events.push({
        eventId: 12014,
        level: 'error',
        key: `12014|receive|${c.record.name}`,
        message: `Microsoft Exchange could not find a certificate that contains the domain name ${c.fqdn} in the personal store on the local computer. Therefore, it is unable to support the STARTTLS SMTP verb for the connector ${c.record.name} with a FQDN parameter of ${c.fqdn}. If the connector's FQDN is not specified, the computer's FQDN is used. Verify the connector configuration and the installed certificates to make sure that there is a certificate with a domain name for that FQDN. If this certificate exists, run Enable-ExchangeCertificate -Services SMTP to make sure that the Microsoft Exchange Transport service has access to the certificate key.`,
      });
      continue;
    }
    const facts = c.tls.certificate.facts;
    if (!starttls.has(c.tls.thumbprint)) starttls.set(c.tls.thumbprint, { subject: facts.subject, notAfter: facts.notAfter, fqdn: c.fqdn });
  }
  for (const [thumbprint, cert] of starttls) {
    if (cert.notAfter.getTime() <= now.getTime()) {
      events.push({
        eventId: 12016,
        level: 'error',
        key: `12016|${thumbprint}`,
        message: `There is no valid SMTP Transport Layer Security (TLS) certificate for the FQDN of ${cert.fqdn}. The existing certificate for that FQDN has expired. The continued use of that FQDN will cause mail flow problems. A new certificate that contains the FQDN of ${cert.fqdn} should be installed on this server as soon as possible. You can create a new certificate by using the New-ExchangeCertificate task.`,
      });
    } else if (cert.notAfter.getTime() - now.getTime() <= warnBefore) {
      events.push({
        eventId: 12018,
        level: 'warn',
        key: `12018|${thumbprint}`,
        message: `The STARTTLS certificate will expire soon: subject: ${cert.subject}, thumbprint: ${thumbprint}, hours remaining: ${hoursLeft(cert.notAfter)}. Run the New-ExchangeCertificate cmdlet to create a new certificate.`,
      });
    }
  }

  // The certificate this server authenticates to other servers with.
  const internal = snapshot.server.internalTransportCertificateThumbprint;
  const internalCert = internal ? [...snapshot.receiveConnectors.map((c) => c.tls?.certificate), ...[...snapshot.sendRuntime.values()].map((r) => (r.clientCertificate.kind === 'named-missing' ? undefined : r.clientCertificate.material?.certificate))].find((c) => c?.thumbprint === internal) : undefined;
  if (internal && internalCert) {
    const notAfter = internalCert.facts.notAfter;
    if (notAfter.getTime() <= now.getTime()) {
      events.push({ eventId: 12015, level: 'error', key: `12015|${internal}`, message: `An internal transport certificate expired. Thumbprint:${internal}` });
    } else if (notAfter.getTime() - now.getTime() <= warnBefore) {
      events.push({ eventId: 12017, level: 'warn', key: `12017|${internal}`, message: `An internal transport certificate will expire soon. Thumbprint:${internal}, hours remaining: ${hoursLeft(notAfter)}` });
    }
  }

  // Send connectors whose TlsCertificateName selects nothing usable here: their deliveries fail with 454 4.7.5.
  for (const r of snapshot.sendRuntime.values()) {
    if (r.clientCertificate.kind !== 'named-missing') continue;
    events.push({
      eventId: 12014,
      level: 'error',
      key: `12014|send|${r.record.name}`,
      message: `Microsoft Exchange could not find a certificate that matches the TlsCertificateName ${r.record.tlsCertificateName} of the Send connector ${r.record.name} in the personal store on the local computer. Messages the connector sends fail with 454 4.7.5 until such a certificate is installed and enabled for SMTP (Enable-ExchangeCertificate -Services SMTP), or TlsCertificateName is changed.`,
    });
  }
  return events;
}
