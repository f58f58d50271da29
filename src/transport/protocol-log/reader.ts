import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { InterchangeError } from '../../errors/interchange-error.js';
import { parseCsvLine } from '../logging/exchange-log-text.js';
import { FIELDS, FILE_NAME_PATTERN, type ProtocolLogEvent, type ProtocolLogKind } from './format.js';

export { parseCsvLine };

export interface ProtocolLogRow {
  kind: ProtocolLogKind;
  dateTime: Date;
  connectorId: string;
  sessionId: string;
  sequenceNumber: number;
  localEndpoint: string;
  remoteEndpoint: string;
  event: ProtocolLogEvent;
  /** As in the file, unquoted; `\r`/`\n` escapes are left as written (they cannot be told from a literal backslash). */
  data: string;
  context: string;
  file: string;
  lineNumber: number;
}

const EVENTS: ReadonlySet<string> = new Set(['+', '-', '>', '<', '*']);

/** Stateful per-file parser: the `#Fields:` header says which column is which. */
class FileParser {
  private index: Record<string, number> = Object.fromEntries(FIELDS.map((f, i) => [f, i]));
  constructor(
    private kind: ProtocolLogKind,
    private readonly file: string,
  ) {}

  line(raw: string, lineNumber: number): ProtocolLogRow | undefined {
    let text = raw;
    if (lineNumber === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.length === 0) return undefined;
    if (text.startsWith('#')) {
      const m = /^#([A-Za-z-]+):\s?(.*)$/.exec(text);
      if (m && m[1].toLowerCase() === 'fields') {
        this.index = Object.fromEntries(m[2].split(',').map((f, i) => [f.trim().toLowerCase(), i]));
      } else if (m && m[1].toLowerCase() === 'log-type') {
        if (/send/i.test(m[2])) this.kind = 'Send';
        else if (/receive/i.test(m[2])) this.kind = 'Receive';
      }
      return undefined;
    }
    const f = parseCsvLine(text);
    const get = (name: string): string => f[this.index[name] ?? -1] ?? '';
    const event = get('event');
    const dateTime = new Date(get('date-time'));
    const seq = Number(get('sequence-number'));
    // A line that is not a row (cut off by a crash, hand-edited) is skipped rather than failing the whole read.
    if (!EVENTS.has(event) || Number.isNaN(dateTime.getTime()) || !Number.isInteger(seq)) return undefined;
    return {
      kind: this.kind,
      dateTime,
      connectorId: get('connector-id'),
      sessionId: get('session-id'),
      sequenceNumber: seq,
      localEndpoint: get('local-endpoint'),
      remoteEndpoint: get('remote-endpoint'),
      event: event as ProtocolLogEvent,
      data: get('data'),
      context: get('context'),
      file: this.file,
      lineNumber,
    };
  }
}

/** Parses the text of one log file (BOM, CRLF or LF, header lines). */
export function parseProtocolLogText(text: string, file = '', kind: ProtocolLogKind = 'Send'): ProtocolLogRow[] {
  const p = new FileParser(kind, file);
  const rows: ProtocolLogRow[] = [];
  text.split('\n').forEach((l, i) => {
    const r = p.line(l, i + 1);
    if (r) rows.push(r);
  });
  return rows;
}

/** Log files of a folder, oldest first (by the date in the name, then the instance number). */
export async function listProtocolLogFiles(directory: string, kind?: ProtocolLogKind): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(directory);
  } catch (e) {
    throw new InterchangeError('ICX_PROTOCOL_LOG_UNREADABLE', `The protocol log folder "${directory}" cannot be read.`, { cause: e });
  }
  const want = kind === undefined ? undefined : kind === 'Send' ? 'SEND' : 'RECV';
  return names
    .map((name) => ({ name, m: FILE_NAME_PATTERN.exec(name) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null && (want === undefined || x.m[1].toUpperCase() === want))
    .sort((a, b) => {
      const da = a.m[2].padEnd(10, '0');
      const db = b.m[2].padEnd(10, '0');
      return da !== db ? (da < db ? -1 : 1) : Number(a.m[3]) - Number(b.m[3]);
    })
    .map((x) => path.join(directory, x.name));
}

/** Every row of every Send and/or Receive log in a folder, oldest file first, in file order. */
export async function* readProtocolLogs(directory: string, opts: { kind?: ProtocolLogKind } = {}): AsyncIterable<ProtocolLogRow> {
  for (const file of await listProtocolLogFiles(directory, opts.kind)) {
    const kind: ProtocolLogKind = /^SEND/i.test(path.basename(file)) ? 'Send' : 'Receive';
    const parser = new FileParser(kind, file);
    const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
    let n = 0;
    for await (const line of rl) {
      const row = parser.line(line, ++n);
      if (row) yield row;
    }
  }
}
