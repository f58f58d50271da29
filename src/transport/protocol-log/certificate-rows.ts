// Reading back which certificate a connector presented, from either
// generation of Exchange's "Sending certificate" rows (reference §6.5).
import type { ProtocolLogRow } from './reader.js';

export interface LoggedCertificate {
  subject: string;
  issuer: string;
  serialNumber: string;
  thumbprint: string;
  notBefore?: Date;
  notAfter?: Date;
  certificateDomains: string[];
}

const HEX = /^[0-9A-Fa-f]+$/;
const THUMBPRINT = /^[0-9A-Fa-f]{40}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const ATTRIBUTE_START = /^(?:[A-Za-z][A-Za-z0-9-]*|OID\.[0-9.]+|[0-9]+(?:\.[0-9]+)+)=/;

/**
 * Splits `<Subject> <Issuer>` where both are .NET distinguished names full of
 * spaces and commas. Inside a DN a space either follows the `, ` separator or
 * is part of a value; the boundary is the first space outside quotes that does
 * not follow a comma and is followed by `ATTR=`.
 */
export function splitSubjectAndIssuer(text: string): { subject: string; issuer: string } {
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') inQuotes = !inQuotes;
    else if (ch === ' ' && !inQuotes && i > 0 && text[i - 1] !== ',' && ATTRIBUTE_START.test(text.slice(i + 1))) {
      return { subject: text.slice(0, i), issuer: text.slice(i + 1) };
    }
  }
  return { subject: text, issuer: '' };
}

/**
 * The 2016/2019 single row: context starts with `Sending certificate`, data is
 * ` <Subject> <Issuer> <SerialNumber> <Thumbprint> <NotBefore> <NotAfter> <Domains>`
 * (older 2016 builds: without the two dates). Parsed from the right, where the
 * tokens have fixed shapes (domains without spaces, ISO dates, a 40-hex
 * thumbprint, a hex serial), leaving the two names to split.
 * Returns undefined for any other row, including the 2013 header row (use
 * collectSendingCertificates for those).
 */
export function parseSendingCertificateRow(row: Pick<ProtocolLogRow, 'data' | 'context'>): LoggedCertificate | undefined {
  if (!row.context.startsWith('Sending certificate') || row.data.trim() === '') return undefined;
  const tokens = (row.data.startsWith(' ') ? row.data.slice(1) : row.data).split(' ');
  let k = tokens.length - 1;
  const isThumbAt = (i: number): boolean => i >= 1 && THUMBPRINT.test(tokens[i]) && HEX.test(tokens[i - 1]);
  let domains = '';
  if (!ISO.test(tokens[k]) && !isThumbAt(k)) {
    domains = tokens[k];
    k--;
  }
  let notBefore: Date | undefined;
  let notAfter: Date | undefined;
  if (k >= 1 && ISO.test(tokens[k]) && ISO.test(tokens[k - 1])) {
    notAfter = new Date(tokens[k]);
    notBefore = new Date(tokens[k - 1]);
    k -= 2;
  }
  if (!isThumbAt(k)) return undefined;
  const thumbprint = tokens[k].toUpperCase();
  const serialNumber = tokens[k - 1].toUpperCase();
  const { subject, issuer } = splitSubjectAndIssuer(tokens.slice(0, k - 1).join(' '));
  return {
    subject,
    issuer,
    serialNumber,
    thumbprint,
    notBefore,
    notAfter,
    certificateDomains: domains.split(';').filter((d) => d.length > 0),
  };
}

const LABELS_2013: Record<string, keyof LoggedCertificate> = {
  'Certificate subject': 'subject',
  'Certificate issuer name': 'issuer',
  'Certificate serial number': 'serialNumber',
  'Certificate thumbprint': 'thumbprint',
  'Certificate alternate names': 'certificateDomains',
};

/**
 * Every certificate a log says was sent, with the row that says it (for the
 * 2013 six-row form, the `Sending certificate` row that starts the group).
 * Rows of different sessions may interleave; groups are kept per session.
 */
export async function* collectSendingCertificates(
  rows: Iterable<ProtocolLogRow> | AsyncIterable<ProtocolLogRow>,
): AsyncIterable<{ row: ProtocolLogRow; certificate: LoggedCertificate }> {
  const open = new Map<string, { row: ProtocolLogRow; cert: LoggedCertificate }>();
  const finish = function* (key: string): Iterable<{ row: ProtocolLogRow; certificate: LoggedCertificate }> {
    const g = open.get(key);
    open.delete(key);
    if (g && THUMBPRINT.test(g.cert.thumbprint)) yield { row: g.row, certificate: g.cert };
  };
  for await (const row of rows as AsyncIterable<ProtocolLogRow>) {
    const key = `${row.file}\u0000${row.sessionId}`;
    const group = open.get(key);
    const label = LABELS_2013[row.context];
    if (group && label) {
      if (label === 'certificateDomains') group.cert.certificateDomains = row.data.split(';').filter((d) => d.length > 0);
      else if (label === 'thumbprint' || label === 'serialNumber') group.cert[label] = row.data.toUpperCase();
      else if (label === 'subject' || label === 'issuer') group.cert[label] = row.data;
      if (label === 'certificateDomains') yield* finish(key);
      continue;
    }
    if (group) yield* finish(key);
    const single = parseSendingCertificateRow(row);
    if (single) {
      yield { row, certificate: single };
    } else if (row.context === 'Sending certificate' && row.data === '') {
      open.set(key, { row, cert: { subject: '', issuer: '', serialNumber: '', thumbprint: '', certificateDomains: [] } });
    }
  }
  for (const key of [...open.keys()]) yield* finish(key);
}

export interface PresentedCertificate {
  connectorId: string;
  sessionId: string;
  dateTime: Date;
  localEndpoint: string;
  remoteEndpoint: string;
  file: string;
  certificate: LoggedCertificate;
}

/**
 * The article's "More information" procedure for a folder of Send logs: for
 * each connector (or only `connectorId`, case-insensitive), the certificate of
 * its most recent `Sending certificate` row. Connectors never seen presenting
 * one are absent.
 */
export async function latestSendingCertificates(
  rows: Iterable<ProtocolLogRow> | AsyncIterable<ProtocolLogRow>,
  opts: { connectorId?: string } = {},
): Promise<PresentedCertificate[]> {
  const want = opts.connectorId?.toLowerCase();
  const latest = new Map<string, PresentedCertificate>();
  for await (const { row, certificate } of collectSendingCertificates(rows)) {
    const key = row.connectorId.toLowerCase();
    if (want !== undefined && key !== want) continue;
    const prev = latest.get(key);
    if (!prev || row.dateTime.getTime() >= prev.dateTime.getTime()) {
      latest.set(key, {
        connectorId: row.connectorId,
        sessionId: row.sessionId,
        dateTime: row.dateTime,
        localEndpoint: row.localEndpoint,
        remoteEndpoint: row.remoteEndpoint,
        file: row.file,
        certificate,
      });
    }
  }
  return [...latest.values()].sort((a, b) => a.connectorId.localeCompare(b.connectorId));
}
