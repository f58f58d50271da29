import { type Dirent, promises as fsp } from 'node:fs';
import path from 'node:path';
import { InterchangeError } from '../../errors/interchange-error.js';
import { parseCsvLine } from '../logging/exchange-log-text.js';
import { FIELDS, FILE_NAME_PATTERN, type ProtocolLogEvent, type ProtocolLogKind } from './format.js';
import { type LogEncoding, readLogLines } from './log-encoding.js';
import { DECISIVE_EVIDENCE, decideLogKind, kindEvidence, kindFromLogType } from './log-kind.js';
import { type ProtocolLogReadReport, skip } from './read-report.js';

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

const NOT_A_ROW = Symbol('not a row');

/** Stateful per-file parser: the `#Fields:` header says which column is which, `#Log-type:` which side wrote it. */
class FileParser {
  private index: Record<string, number> = Object.fromEntries(FIELDS.map((f, i) => [f, i]));
  /** The `#Log-type:` value, once seen. */
  logType: string | undefined;
  constructor(
    private readonly file: string,
    private readonly kind: ProtocolLogKind,
  ) {}

  /** A row, `NOT_A_ROW` for a line that should have been one, undefined for a header or empty line. */
  line(raw: string, lineNumber: number): ProtocolLogRow | typeof NOT_A_ROW | undefined {
    let text = raw;
    if (lineNumber === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim().length === 0) return undefined;
    if (text.startsWith('#')) {
      const m = /^#([A-Za-z-]+):\s?(.*)$/.exec(text);
      if (m && m[1].toLowerCase() === 'fields') {
        this.index = Object.fromEntries(m[2].split(',').map((f, i) => [f.trim().toLowerCase(), i]));
      } else if (m && m[1].toLowerCase() === 'log-type') {
        this.logType = m[2];
      }
      return undefined;
    }
    const f = parseCsvLine(text);
    const get = (name: string): string => f[this.index[name] ?? -1] ?? '';
    const event = get('event');
    const dateTime = new Date(get('date-time'));
    const seq = Number(get('sequence-number'));
    // A line that is not a row (cut off by a crash, hand-edited) is skipped rather than failing the whole read; the caller counts it.
    if (!EVENTS.has(event) || Number.isNaN(dateTime.getTime()) || !Number.isInteger(seq)) return NOT_A_ROW;
    return {
      kind: (this.logType !== undefined ? kindFromLogType(this.logType) : undefined) ?? this.kind,
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

/** Parses the text of one log file (BOM, CRLF or LF, header lines); `#Log-type:` overrides `kind`. */
export function parseProtocolLogText(text: string, file = '', kind: ProtocolLogKind = 'Send'): ProtocolLogRow[] {
  const p = new FileParser(file, kind);
  const rows: ProtocolLogRow[] = [];
  text.split('\n').forEach((l, i) => {
    const r = p.line(l, i + 1);
    if (r && r !== NOT_A_ROW) rows.push(r);
  });
  return rows;
}

/**
 * Log files of a folder, oldest first (by the date in the name, then the
 * instance number). `kind` filters by name only. A folder named like a log
 * file is not a log file: it is counted as skipped in `report`.
 */
export async function listProtocolLogFiles(directory: string, kind?: ProtocolLogKind, report?: ProtocolLogReadReport): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await fsp.readdir(directory, { withFileTypes: true });
  } catch (e) {
    throw new InterchangeError('ICX_PROTOCOL_LOG_UNREADABLE', `The protocol log folder "${directory}" cannot be read.`, { cause: e });
  }
  const want = kind === undefined ? undefined : kind === 'Send' ? 'SEND' : 'RECV';
  const logs: Array<{ name: string; m: RegExpExecArray }> = [];
  for (const entry of entries) {
    const m = FILE_NAME_PATTERN.exec(entry.name);
    let isFile = entry.isFile();
    let isDirectory = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      const st = await fsp.stat(path.join(directory, entry.name)).catch(() => undefined);
      isFile = st?.isFile() ?? false;
      isDirectory = st?.isDirectory() ?? false;
    }
    if (!m) {
      if (isFile && report) report.otherFiles++;
      continue;
    }
    if (want !== undefined && m[1].toUpperCase() !== want) continue;
    if (isDirectory) {
      skip(report, 'folderNamedLikeLog', `${entry.name}${path.sep}`);
      continue;
    }
    if (!isFile) continue;
    logs.push({ name: entry.name, m });
  }
  return logs
    .sort((a, b) => {
      const da = a.m[2].padEnd(10, '0');
      const db = b.m[2].padEnd(10, '0');
      return da !== db ? (da < db ? -1 : 1) : Number(a.m[3]) - Number(b.m[3]);
    })
    .map((x) => path.join(directory, x.name));
}

/** Rows buffered while the rows of a file without `#Log-type:` decide its kind. */
const KIND_WINDOW_ROWS = 500;

/**
 * Every row of every Send and/or Receive log in a folder, oldest file first,
 * in file order. Each file's kind comes from its `#Log-type:` header, else its
 * rows, else its name (log-kind.ts); `kind` keeps only files of that kind.
 * Files are decoded by their BOM (UTF-8, UTF-16 LE/BE). What is read and
 * skipped is counted in `report`.
 */
export async function* readProtocolLogs(directory: string, opts: { kind?: ProtocolLogKind; report?: ProtocolLogReadReport } = {}): AsyncIterable<ProtocolLogRow> {
  const report = opts.report;
  const files = await listProtocolLogFiles(directory, undefined, report);
  if (report) report.foldersSearched++;
  for (const file of files) {
    const fileName = path.basename(file);
    const parser = new FileParser(file, /^SEND/i.test(fileName) ? 'Send' : 'Receive');
    let decided: ProtocolLogKind | undefined;
    let evidence = 0;
    const window: ProtocolLogRow[] = [];
    const decide = (): ProtocolLogKind => {
      const d = decideLogKind({ logType: parser.logType, evidence, fileName });
      if (report) {
        report.filesRead++;
        report.kindBy[d.by]++;
        report.filesByKind[d.kind]++;
      }
      return d.kind;
    };
    let encoding: LogEncoding | undefined;
    try {
      for await (const line of readLogLines(file, (e) => (encoding = e))) {
        if (line.text === undefined) {
          skip(report, 'overlongLine');
          continue;
        }
        const row = parser.line(line.text, line.lineNumber);
        if (row === NOT_A_ROW) {
          skip(report, 'notARow');
          continue;
        }
        if (!row) continue;
        if (report) report.rowsRead++;
        if (decided === undefined && parser.logType !== undefined && kindFromLogType(parser.logType)) decided = decide();
        if (decided !== undefined) {
          if (opts.kind !== undefined && opts.kind !== decided) break;
          row.kind = decided;
          yield row;
          continue;
        }
        evidence += kindEvidence(row);
        window.push(row);
        if (Math.abs(evidence) >= DECISIVE_EVIDENCE || window.length >= KIND_WINDOW_ROWS) {
          decided = decide();
          if (opts.kind !== undefined && opts.kind !== decided) break;
          for (const r of window.splice(0)) {
            r.kind = decided;
            yield r;
          }
        }
      }
    } catch (e) {
      // Cannot be opened, or a read error part way: what was read stands, the rest of the file is lost.
      skip(report, 'unreadableFile', `${fileName} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      if (decided === undefined && window.length === 0) continue;
    }
    if (encoding !== undefined && report) report.filesByEncoding[encoding]++;
    if (decided === undefined) {
      decided = decide();
      if (opts.kind !== undefined && opts.kind !== decided) continue;
      for (const r of window.splice(0)) {
        r.kind = decided;
        yield r;
      }
    }
  }
}

/** Folder names of Exchange's log tree below `TransportRoles\Logs` (reference §5). */
const EXCHANGE_LOG_FOLDERS = new Set(['logs', 'hub', 'frontend', 'edge', 'mailbox', 'protocollog', 'smtpsend', 'smtpreceive', 'delivery', 'submission']);
const MAX_DEPTH = 16;

/**
 * The folders to read under `root`: `root` itself, and below it the folders of
 * Exchange's layout (`Hub|FrontEnd|Edge|Mailbox\ProtocolLog\SmtpSend|SmtpReceive`,
 * case-insensitive) so that a copy of `TransportRoles\Logs` or of a
 * `ProtocolLog` folder reads whole; with `recurse`, every folder below it.
 * Symbolic links to folders are not followed (a loop cannot hold the read).
 */
export async function findProtocolLogFolders(root: string, opts: { recurse?: boolean } = {}): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    found.push(dir);
    if (depth >= MAX_DEPTH) return;
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (depth === 0) throw new InterchangeError('ICX_PROTOCOL_LOG_UNREADABLE', `The protocol log folder "${dir}" cannot be read.`, { cause: e });
      return;
    }
    const subfolders = entries
      .filter((e) => e.isDirectory() && !FILE_NAME_PATTERN.test(e.name) && (opts.recurse || EXCHANGE_LOG_FOLDERS.has(e.name.toLowerCase())))
      .map((e) => e.name)
      .sort();
    for (const name of subfolders) await walk(path.join(dir, name), depth + 1);
  };
  await walk(root, 0);
  return found;
}
