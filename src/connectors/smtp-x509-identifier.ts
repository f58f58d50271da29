import { normalizeX500Name, parseX500Name, x500NamesEqual } from '../certificates/x500-name.js';
import { InterchangeError } from '../errors/interchange-error.js';

/**
 * Exchange's SmtpX509Identifier, the value of TlsCertificateName:
 * `<I>issuer<S>subject`. Tags are case-insensitive on input (Microsoft's own
 * article builds the value with `<i>` and `<s>`), the issuer is optional, and
 * output always uses `<I>` and `<S>` with both names in canonical form.
 */
export interface SmtpX509Identifier {
  issuer: string | null;
  subject: string;
}

const HOST_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

export function parseSmtpX509Identifier(text: string): SmtpX509Identifier {
  const m = /^\s*(?:<I>(.*?))?<S>(.*?)\s*$/is.exec(text);
  const invalid = () => new InterchangeError('ICX_TLS_CERT_NAME_INVALID', `"${text}" isn't a valid Certificate Identifier.`, { parameter: 'TlsCertificateName' });
  if (!m || !m[2].trim()) throw invalid();
  let issuer: string | null = null;
  let subject: string;
  try {
    issuer = m[1] !== undefined && m[1].trim() ? normalizeX500Name(m[1]) : null;
    subject = normalizeX500Name(m[2]);
  } catch (e) {
    throw new InterchangeError(
      'ICX_TLS_CERT_NAME_INVALID',
      `"${text}" isn't a valid Certificate Identifier. ${(e as Error).message}`,
      { parameter: 'TlsCertificateName', cause: e },
    );
  }
  const cn = parseX500Name(subject).find((a) => a.type.toUpperCase() === 'CN');
  if (!cn || !HOST_NAME.test(cn.value)) {
    throw new InterchangeError(
      'ICX_TLS_CERT_NAME_INVALID',
      `"${text}" isn't a supported Certificate Identifier. The common name in the subject needs to be a valid domain name. `,
      { parameter: 'TlsCertificateName' },
    );
  }
  return { issuer, subject };
}

export function formatSmtpX509Identifier(id: SmtpX509Identifier): string {
  return `${id.issuer ? `<I>${id.issuer}` : ''}<S>${id.subject}`;
}

/** True when a certificate's rendered Issuer and Subject are named by the identifier. */
export function identifierMatches(id: SmtpX509Identifier, cert: { issuer: string; subject: string }): boolean {
  return x500NamesEqual(id.subject, cert.subject) && (id.issuer === null || x500NamesEqual(id.issuer, cert.issuer));
}
