// Delivery status notifications to the sender (RFC 3464): non-delivery
// reports for failed recipients and delay notifications, sent from the null
// reverse path so that they never bounce back.
import crypto from 'node:crypto';
import { headerSectionLength } from '../content/header-section.js';

export interface DsnRecipient {
  recipient: string;
  /** The SMTP reply, e.g. `550 5.1.1 User unknown`. */
  reply: string;
}

export interface DsnInput {
  kind: 'failed' | 'delayed';
  reportingMta: string;
  originalFrom: string;
  originalSubject: string | undefined;
  arrivalDate: Date;
  recipients: DsnRecipient[];
  /** The header section of the original message. */
  originalHeaders: Buffer;
  now: Date;
}

const STATUS = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;

function statusOf(reply: string, kind: 'failed' | 'delayed'): string {
  const m = STATUS.exec(reply);
  // RFC 3464: a failed recipient has a 5.x.x status, whatever class the last reply had.
  if (m) return kind === 'delayed' ? `4.${m[2]}.${m[3]}` : `5.${m[2]}.${m[3]}`;
  return kind === 'delayed' ? '4.4.7' : '5.0.0';
}

function rfc2822Date(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

/** The header section of a stored message (up to the empty line). */
export function headerSection(body: Buffer): Buffer {
  const length = headerSectionLength(body);
  return body.subarray(0, length < 0 ? Math.min(body.length, 65536) : length);
}

export function buildDsn(input: DsnInput): Buffer {
  const boundary = `icx-${crypto.randomBytes(12).toString('hex')}`;
  const failed = input.kind === 'failed';
  const subject = `${failed ? 'Undeliverable' : 'Delivery delayed'}: ${input.originalSubject ?? ''}`.replace(/[\r\n]+/g, ' ');
  const human = failed
    ? [`Delivery has failed to these recipients or groups:`, '', ...input.recipients.map((r) => `${r.recipient}`), '', 'Diagnostic information for administrators:', '', `Generating server: ${input.reportingMta}`, '', ...input.recipients.map((r) => `${r.recipient}\r\nRemote server returned '${r.reply}'`)]
    : [`Delivery is delayed to these recipients or groups:`, '', ...input.recipients.map((r) => r.recipient), '', 'This message has not been delivered yet. Delivery will continue to be attempted.', '', ...input.recipients.map((r) => `${r.recipient}: ${r.reply}`)];
  const perRecipient = input.recipients
    .map((r) =>
      [`Final-Recipient: rfc822;${r.recipient}`, `Action: ${input.kind}`, `Status: ${statusOf(r.reply, input.kind)}`, `Diagnostic-Code: smtp;${r.reply}`, ...(failed ? [] : [`Will-Retry-Until: ${rfc2822Date(input.now)}`])].join('\r\n'),
    )
    .join('\r\n\r\n');
  const text = [
    `From: Microsoft Outlook <MAILER-DAEMON@${input.reportingMta}>`,
    `To: <${input.originalFrom}>`,
    `Subject: ${subject}`,
    `Date: ${rfc2822Date(input.now)}`,
    `Message-ID: <${crypto.randomUUID()}@${input.reportingMta}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    ...human,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns;${input.reportingMta}`,
    `Arrival-Date: ${rfc2822Date(input.arrivalDate)}`,
    '',
    perRecipient,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(text + '\r\n'), input.originalHeaders, Buffer.from(`\r\n--${boundary}--\r\n`)]);
}
