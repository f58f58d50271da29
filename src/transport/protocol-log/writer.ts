import { RotatingLogWriter, type LogFileNaming, type RotatingLogSettings, type RotatingLogWriterOptions } from '../logging/rotating-log-writer.js';
import { FILE_NAME_PATTERN, fileDatePart, fileName, filePrefix, formatHeader, type ProtocolLogKind } from './format.js';

export type ProtocolLogSettings = RotatingLogSettings;

/** Set-TransportService defaults (reference §5): 10 MB files, 250 MB folder, 30 days. */
export const PROTOCOL_LOG_DEFAULTS: Omit<ProtocolLogSettings, 'directory'> = {
  maxFileSize: 10 * 1024 * 1024,
  maxDirectorySize: 250 * 1024 * 1024,
  maxAge: 30 * 24 * 3600 * 1000,
};

export interface ProtocolLogWriterOptions extends Omit<RotatingLogWriterOptions, 'naming' | 'name'> {
  kind: ProtocolLogKind;
}

function protocolLogNaming(kind: ProtocolLogKind): LogFileNaming {
  return {
    datePart: fileDatePart,
    fileName: (at, instance) => fileName(kind, at, instance),
    parse: (name) => {
      const m = FILE_NAME_PATTERN.exec(name);
      if (!m || m[1].toUpperCase() !== filePrefix(kind)) return undefined;
      return { datePart: m[2], instance: Number(m[3]), sortKey: `${m[2].padEnd(10, '0')}-${m[3].padStart(10, '0')}` };
    },
    header: (at) => formatHeader(kind, at),
  };
}

/** The SMTP send or receive protocol log of a server: rows of sessions, in Exchange's files. */
export class ProtocolLogWriter extends RotatingLogWriter {
  readonly kind: ProtocolLogKind;
  private lastSessionTicks = 0n;

  constructor(opts: ProtocolLogWriterOptions) {
    super({ ...opts, naming: protocolLogNaming(opts.kind), name: 'protocol log' });
    this.kind = opts.kind;
  }

  /**
   * A new session id: 16 upper-case hex digits. Exchange's are .NET ticks
   * (100 ns since 0001-01-01) made unique per process, which is why real ones
   * start with 08D…; we do the same so ours sort and look alike.
   */
  newSessionId(): string {
    let ticks = BigInt(this.clock().getTime()) * 10_000n + 621_355_968_000_000_000n;
    if (ticks <= this.lastSessionTicks) ticks = this.lastSessionTicks + 1n;
    this.lastSessionTicks = ticks;
    return ticks.toString(16).toUpperCase().padStart(16, '0');
  }
}
