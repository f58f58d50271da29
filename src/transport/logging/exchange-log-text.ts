// The text conventions every Exchange transport log shares (protocol logs,
// message tracking logs): UTC timestamps, CSV fields, the `#`-header block.
// Pure functions, so writers and readers agree byte for byte.

export const BOM = '\uFEFF';
export const CRLF = '\r\n';

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

// Every log row starts with a timestamp and most rows of a busy second share
// all but the milliseconds: the rest is formatted once per second.
let memoSecond = NaN;
let memoPrefix = '';
const MILLIS = Array.from({ length: 1000 }, (_, i) => `.${pad(i, 3)}Z`);

/** `yyyy-MM-ddTHH:mm:ss.fffZ`, always UTC. */
export function formatDateTime(d: Date): string {
  const ms = d.getTime();
  const millis = ((ms % 1000) + 1000) % 1000;
  const second = ms - millis;
  if (second !== memoSecond) {
    memoSecond = second;
    memoPrefix =
      `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
      `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  }
  return memoPrefix + MILLIS[millis];
}

/** `yyyyMMddHH` in UTC: current Exchange starts one file set per hour. */
export function hourlyDatePart(d: Date): string {
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}`;
}

/**
 * One field as Exchange writes it: CR and LF become the two-character escapes
 * `\r` and `\n`; then a field containing `,` or `"` is quoted with inner quotes
 * doubled. Nothing else is escaped (connector ids such as `EX01\Default EX01`
 * keep their backslash).
 */
const NEEDS_ESCAPING = /[\r\n,"]/;

export function csvField(value: string | undefined): string {
  if (!value) return '';
  if (!NEEDS_ESCAPING.test(value)) return value;
  let v = value;
  if (v.includes('\r') || v.includes('\n')) v = v.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
  if (v.includes(',') || v.includes('"')) v = `"${v.replace(/"/g, '""')}"`;
  return v;
}

/** The five header lines, each ending in CRLF (without the BOM, which only starts a file). */
export function formatLogHeader(opts: { version: string; logType: string; created: Date; fields: readonly string[] }): string {
  return (
    '#Software: Microsoft Exchange Server' + CRLF +
    `#Version: ${opts.version}` + CRLF +
    `#Log-type: ${opts.logType}` + CRLF +
    `#Date: ${formatDateTime(opts.created)}` + CRLF +
    `#Fields: ${opts.fields.join(',')}` + CRLF
  );
}

/**
 * Splits one CSV line as Exchange writes it: a field that starts with `"` runs
 * to the next `"` not doubled; other fields run to the next comma.
 */
export function parseCsvLine(line: string): string[] {
  return splitQuoted(line, ',', '"');
}

/**
 * Splits `text` at `separator`, where a value that starts with `quote` runs to
 * the next quote not doubled: the CSV of the logs (`,` and `"`) and the
 * multi-valued fields inside them (`;` and `'`) are quoted the same way.
 */
export function splitQuoted(text: string, separator: string, quote: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === quote) {
      let v = '';
      i++;
      for (;;) {
        const q = text.indexOf(quote, i);
        if (q < 0) {
          v += text.slice(i);
          i = text.length;
          break;
        }
        v += text.slice(i, q);
        if (text[q + 1] === quote) {
          v += quote;
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      // Tolerate junk between a closing quote and the separator.
      const c = text.indexOf(separator, i);
      out.push(c < 0 || c === i ? v : v + text.slice(i, c));
      if (c < 0) return out;
      i = c + 1;
    } else {
      const c = text.indexOf(separator, i);
      if (c < 0) {
        out.push(text.slice(i));
        return out;
      }
      out.push(text.slice(i, c));
      i = c + 1;
    }
  }
}
