// Send or Receive: a copied log may have lost its header or been renamed, so
// the file name is the weakest witness. The `#Log-type:` header decides when
// present; otherwise the rows do (reference §6.3, §6.5): a Receive log's
// connector ids are `SERVER\Name`, and the two sides of a session write the
// same SMTP lines with opposite arrows.
import type { ProtocolLogKind } from './format.js';

export type KindSource = 'header' | 'rows' | 'file name';

/** `SMTP Send Protocol Log` / `SMTP Receive Protocol Log`; anything else says nothing. */
export function kindFromLogType(value: string): ProtocolLogKind | undefined {
  if (/\bsend\b/i.test(value)) return 'Send';
  if (/\breceive\b/i.test(value)) return 'Receive';
  return undefined;
}

const COMMAND = /^(EHLO|HELO|MAIL FROM:|RCPT TO:|STARTTLS|QUIT|BDAT|DATA|RSET|AUTH|XEXCH50|X-ANONYMOUSTLS)\b/i;
const REPLY = /^\d{3}(?:[ -]|$)/;

/**
 * What one row says about the side that wrote it: positive for Send, negative
 * for Receive, 0 when it says nothing.
 */
export function kindEvidence(row: { connectorId: string; event: string; data: string; context: string }): number {
  let score = 0;
  // Receive connector ids are `SERVER\Name`; Send connector names have no backslash in practice.
  if (/^[^\\]+\\./.test(row.connectorId)) score -= 1;
  if (row.context === 'attempting to connect') score += 2;
  if (/_CLIENT negotiation/.test(row.context)) score += 2;
  if (/_SERVER negotiation/.test(row.context)) score -= 2;
  if (row.event === '>' || row.event === '<') {
    const we = row.event === '>';
    if (COMMAND.test(row.data)) score += we ? 2 : -2;
    else if (REPLY.test(row.data)) score += we ? -2 : 2;
  }
  return score;
}

/** Rows decide once the evidence is this clear; otherwise after the first rows of the file (see readProtocolLogs). */
export const DECISIVE_EVIDENCE = 10;

/**
 * Send or Receive for one file: its `#Log-type:` header, else the summed
 * evidence of its rows, else its name (`SEND…`/`RECV…`).
 */
export function decideLogKind(input: { logType?: string; evidence: number; fileName: string }): { kind: ProtocolLogKind; by: KindSource } {
  const fromHeader = input.logType === undefined ? undefined : kindFromLogType(input.logType);
  if (fromHeader) return { kind: fromHeader, by: 'header' };
  if (input.evidence > 0) return { kind: 'Send', by: 'rows' };
  if (input.evidence < 0) return { kind: 'Receive', by: 'rows' };
  return { kind: /^SEND/i.test(input.fileName) ? 'Send' : 'Receive', by: 'file name' };
}
