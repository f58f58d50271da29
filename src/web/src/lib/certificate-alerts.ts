// Certificate alerts as the pages show them (Get-ExchangeCertificateAlert
// decides them), and building TlsCertificateName from a chosen certificate
// the way Microsoft's article does.

export type AlertKind = 'expired' | 'expiring' | 'missing-on-source-server' | 'rotation-incomplete';

export interface CertificateAlert {
  kind: AlertKind;
  severity: 'error' | 'warning';
  server: string;
  /** Present for alerts about an installed certificate. */
  thumbprint?: string;
  /** rotation-incomplete: the renewed certificate that replaces `thumbprint`. */
  newThumbprint?: string;
  connector?: string;
  text: string;
  /** The cmdlet's command that resolves the alert, when one does. */
  command?: string;
}

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
