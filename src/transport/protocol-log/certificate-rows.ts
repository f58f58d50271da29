// Reading back which certificate a connector presented, from either
// generation of Exchange's "Sending certificate" rows (reference §6.5).
import path from 'node:path';
import type { ProtocolLogRow } from './reader.js';
import { type ProtocolLogReadReport, note, skip } from './read-report.js';

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

const DATE_LIKE = /^(?:\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{1,2}:\d{2}|AM$|PM$)/i;

export type SendingCertificateRowReading =
  | { certificate: LoggedCertificate; datesUnreadable: boolean }
  | { problem: 'no-thumbprint' };

/**
 * The 2016/2019 single row: context starts with `Sending certificate`, data is
 * ` <Subject> <Issuer> <SerialNumber> <Thumbprint> <NotBefore> <NotAfter> <Domains>`
 * (older 2016 builds: without the two dates). Read from the right, where the
 * tokens have fixed shapes: the thumbprint is the last 40-hex token after a hex
 * serial; after it come the dates (two ISO tokens, else they cannot be read
 * and are left out) and the domains (no spaces). The two names before the
 * serial are split by splitSubjectAndIssuer.
 * Undefined for any other row, including the 2013 header row (use
 * collectSendingCertificates for those).
 */
export function readSendingCertificateRow(row: Pick<ProtocolLogRow, 'data' | 'context'>): SendingCertificateRowReading | undefined {
  if (!row.context.startsWith('Sending certificate') || row.data.trim() === '') return undefined;
  const tokens = (row.data.startsWith(' ') ? row.data.slice(1) : row.data).split(' ');
  const isThumbAt = (i: number): boolean => i >= 1 && THUMBPRINT.test(tokens[i]) && HEX.test(tokens[i - 1]);
  let k = tokens.length - 1;
  while (k >= 1 && !isThumbAt(k)) k--;
  if (!isThumbAt(k)) return { problem: 'no-thumbprint' };
  const rest = tokens.slice(k + 1);
  let domains = '';
  if (rest.length > 0 && !DATE_LIKE.test(rest[rest.length - 1])) domains = rest.pop()!;
  let notBefore: Date | undefined;
  let notAfter: Date | undefined;
  let datesUnreadable = false;
  if (rest.length > 0) {
    const nb = rest.length === 2 && ISO.test(rest[0]) ? new Date(rest[0]) : undefined;
    const na = rest.length === 2 && ISO.test(rest[1]) ? new Date(rest[1]) : undefined;
    if (nb && na && !Number.isNaN(nb.getTime()) && !Number.isNaN(na.getTime())) {
      notBefore = nb;
      notAfter = na;
    } else {
      datesUnreadable = true;
    }
  }
  const { subject, issuer } = splitSubjectAndIssuer(tokens.slice(0, k - 1).join(' '));
  return {
    certificate: {
      subject,
      issuer,
      serialNumber: tokens[k - 1].toUpperCase(),
      thumbprint: tokens[k].toUpperCase(),
      notBefore,
      notAfter,
      certificateDomains: domains.split(';').filter((d) => d.length > 0),
    },
    datesUnreadable,
  };
}

/** The certificate of a 2016/2019 single row, or undefined (see readSendingCertificateRow). */
export function parseSendingCertificateRow(row: Pick<ProtocolLogRow, 'data' | 'context'>): LoggedCertificate | undefined {
  const r = readSendingCertificateRow(row);
  return r && 'certificate' in r ? r.certificate : undefined;
}

const LABELS_2013: Record<string, keyof LoggedCertificate> = {
  'Certificate subject': 'subject',
  'Certificate issuer name': 'issuer',
  'Certificate serial number': 'serialNumber',
  'Certificate thumbprint': 'thumbprint',
  'Certificate alternate names': 'certificateDomains',
};

interface OpenRecord {
  row: ProtocolLogRow;
  cert: LoggedCertificate;
  rows: number;
  /** `Received certificate`: the remote party's certificate, whose rows are not ours. */
  received: boolean;
  /** Its `Sending certificate` row is missing (the log was cut by rotation before it). */
  headless: boolean;
  labels: Set<string>;
}

/**
 * Every certificate a log says was sent, with the row that says it (for the
 * 2013 multi-row form, the `Sending certificate` row that starts the record).
 * Rows of different sessions may interleave; records are kept per folder and
 * session, so a record split over two files by rotation still joins up. A
 * record whose first row is missing is still a certificate use when its rows
 * say more than a thumbprint alone (a lone `Certificate thumbprint` row may
 * as well follow `Received certificate`). What cannot be used is counted in
 * `report`.
 */
export async function* collectSendingCertificates(
  rows: Iterable<ProtocolLogRow> | AsyncIterable<ProtocolLogRow>,
  report?: ProtocolLogReadReport,
): AsyncIterable<{ row: ProtocolLogRow; certificate: LoggedCertificate }> {
  const open = new Map<string, OpenRecord>();
  const used = (rowCount: number): void => {
    if (!report) return;
    report.certificateRecords++;
    report.certificateRowsUsed += rowCount;
  };
  const finish = function* (key: string): Iterable<{ row: ProtocolLogRow; certificate: LoggedCertificate }> {
    const g = open.get(key);
    open.delete(key);
    if (!g || g.received) return;
    const hasThumbprint = THUMBPRINT.test(g.cert.thumbprint);
    if (g.headless && (!hasThumbprint || g.labels.size < 2)) {
      for (let i = 0; i < g.rows; i++) skip(report, 'certificateFragment');
      return;
    }
    if (!hasThumbprint) {
      skip(report, 'certificateWithoutThumbprint', `${path.basename(g.row.file)} line ${g.row.lineNumber}`);
      return;
    }
    if (g.headless) note(report, 'withoutFirstRow');
    used(g.rows);
    yield { row: g.row, certificate: g.cert };
  };
  const newRecord = (row: ProtocolLogRow, opts: { received?: boolean; headless?: boolean }): OpenRecord => ({
    row,
    cert: { subject: '', issuer: '', serialNumber: '', thumbprint: '', certificateDomains: [] },
    rows: opts.headless ? 0 : 1,
    received: opts.received ?? false,
    headless: opts.headless ?? false,
    labels: new Set(),
  });
  for await (const row of rows as AsyncIterable<ProtocolLogRow>) {
    const key = `${path.dirname(row.file)}\u0000${row.sessionId}`;
    const label = LABELS_2013[row.context];
    if (label && row.event === '*') {
      let group = open.get(key);
      if (!group) {
        group = newRecord(row, { headless: true });
        open.set(key, group);
      }
      group.rows++;
      group.labels.add(label);
      if (label === 'certificateDomains') group.cert.certificateDomains = row.data.split(';').filter((d) => d.length > 0);
      else if (label === 'thumbprint' || label === 'serialNumber') group.cert[label] = row.data.toUpperCase();
      else if (label === 'subject' || label === 'issuer') group.cert[label] = row.data;
      if (label === 'certificateDomains') yield* finish(key);
      continue;
    }
    if (open.has(key)) yield* finish(key);
    const single = readSendingCertificateRow(row);
    if (single && 'certificate' in single) {
      if (single.datesUnreadable) note(report, 'unreadableDates');
      used(1);
      yield { row, certificate: single.certificate };
    } else if (single) {
      skip(report, 'certificateWithoutThumbprint', `${path.basename(row.file)} line ${row.lineNumber}`);
    } else if (row.context === 'Sending certificate' && row.data === '') {
      open.set(key, newRecord(row, {}));
    } else if (row.context === 'Received certificate') {
      open.set(key, newRecord(row, { received: true }));
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
