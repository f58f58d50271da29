// Transport tests: an in-process Interchange server with its transport (real
// sockets, real SQLite, real spool), a tiny recording SMTP next hop, and a raw
// SMTP client for feeding a server exactly the bytes a test wants.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { startInterchangeServer, type RunningServer } from '../../src/server/interchange-server.js';
import type { TransportService } from '../../src/transport/service/transport-service.js';
import { readProtocolLogs, type ProtocolLogRow } from '../../src/transport/protocol-log/index.js';
import type { AuthThrottlePolicy } from '../../src/transport/inbound/auth-throttle.js';
import { createTransportFactory } from '../../src/transport/service/transport-factory.js';
import { AdminApi, freeTcpPort, tempDir } from './interchange.js';

export interface TestServer {
  server: RunningServer;
  api: AdminApi;
  dataDir: string;
  smtpPort: number;
  transport: TransportService;
  close(): Promise<void>;
}

/**
 * Starts EX01 (or `name`) in this process with a fast configuration poll and a short stop grace period.
 * Transport tests send to many domains; unless `anonymousRelay` is false, the Default Frontend lets
 * anonymous senders relay, as Exchange's anonymous relay connector does (Add-ADPermission).
 * Unless `tarpit` is true, its TarpitInterval is 00:00:00: Exchange holds every 5xx reply to an anonymous
 * client for 5 seconds, and tests about other things send many of them (the tarpit has its own test).
 */
export async function startTestServer(
  opts: { name?: string; dataDir?: string; stopGraceMs?: number; anonymousRelay?: boolean; tarpit?: boolean; authThrottle?: Partial<AuthThrottlePolicy>; statistics?: { intervalMs?: number; capacity?: number }; acmeRenewalIntervalMs?: number } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? (await tempDir('transport'));
  const smtpPort = await freeTcpPort();
  const adminPort = await freeTcpPort();
  const server = await startInterchangeServer({
    dataDir,
    serverName: opts.name ?? 'EX01',
    fqdn: `${(opts.name ?? 'EX01').toLowerCase()}.contoso.com`,
    smtpPort,
    adminPort,
    acmeRenewalIntervalMs: opts.acmeRenewalIntervalMs,
    logger: pino({ level: 'silent' }),
    statistics: opts.statistics,
    transportFactory: createTransportFactory({ configPollMs: 100, stopGraceMs: opts.stopGraceMs ?? 1500, authThrottle: opts.authThrottle }),
  });
  const token = server.administratorToken ?? (await import('node:fs')).readFileSync(server.tokenFile, 'utf8').trim();
  const transport = server.transport as unknown as TransportService;
  const api = new AdminApi(server.adminUrl, token);
  await waitForPort(smtpPort);
  const defaultFrontend = `${(opts.name ?? 'EX01').toUpperCase()}\\Default Frontend ${(opts.name ?? 'EX01').toUpperCase()}`;
  if (!opts.tarpit) {
    await api.ok('Set-ReceiveConnector', { Identity: defaultFrontend, TarpitInterval: '00:00:00' });
    await transport.reload();
  }
  if (opts.anonymousRelay !== false) await allowAnonymousRelay(api, `${(opts.name ?? 'EX01').toUpperCase()}\\Default Frontend ${(opts.name ?? 'EX01').toUpperCase()}`, smtpPort);
  return {
    server,
    api,
    dataDir,
    smtpPort,
    transport,
    async close() {
      await server.close();
      await transport.close().catch(() => undefined);
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts servers one after another. If one cannot start, those already started are closed before the error
 * goes on: a test that never reaches its finally must not leave a server holding the test process open.
 */
export async function startTestServers(...specs: Array<Parameters<typeof startTestServer>[0]>): Promise<TestServer[]> {
  const started: TestServer[] = [];
  try {
    for (const spec of specs) started.push(await startTestServer(spec));
    return started;
  } catch (e) {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    throw e;
  }
}

/**
 * Exchange's anonymous relay grant on a Receive connector. With `smtpPort`, returns only once the
 * running transport applies it (it reads configuration changes at its next poll).
 */
export async function allowAnonymousRelay(api: AdminApi, connector: string, smtpPort?: number): Promise<void> {
  await api.ok('Add-ADPermission', { Identity: connector, User: 'NT AUTHORITY\\ANONYMOUS LOGON', ExtendedRights: ['ms-Exch-SMTP-Accept-Any-Recipient'] });
  // Within a poll or two when the machine is idle; the CI machine runs two test files at once, and a start of two servers with their Setup certificates beside a busy neighbour has taken over 15 s.
  if (smtpPort !== undefined) await waitFor('the anonymous relay grant in effect', () => mayRelay(smtpPort), 45_000);
}

/** Whether an anonymous sender may name a recipient outside the accepted domains; nothing is sent. */
export async function mayRelay(smtpPort: number): Promise<boolean> {
  const c = await RawSmtp.connect(smtpPort);
  try {
    await c.reply();
    await c.command('EHLO relay-probe.test');
    if (!/^250 /.test((await c.command('MAIL FROM:<probe@relay-probe.test>')) ?? '')) return false;
    return /^250 /.test((await c.command('RCPT TO:<probe@relay-probe.invalid>')) ?? '');
  } catch {
    return false;
  } finally {
    c.close();
  }
}

export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface SinkMessage {
  from: string;
  to: string[];
  raw: string;
  messageId: string | undefined;
  /** The SMTP session (connection) it came in on. */
  sessionId: string;
}

export interface RecordingSink {
  port: number;
  messages: SinkMessage[];
  stop(): Promise<void>;
}

/**
 * A next hop that records every message (smtp-server, no TLS); `port` may be reused after stop(). It listens on `host`
 * (loopback unless given). `deferRecipients`: the first that many recipients it is offered get 451, as a busy next hop.
 */
export async function startRecordingSink(port?: number, host = '127.0.0.1', opts: { deferRecipients?: number } = {}): Promise<RecordingSink> {
  const p = port ?? (await freeTcpPort());
  const messages: SinkMessage[] = [];
  let toDefer = opts.deferRecipients ?? 0;
  const srv = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 200 * 1024 * 1024,
    onRcptTo(_address, _session, cb) {
      if (toDefer <= 0) return cb();
      toDefer--;
      cb(Object.assign(new Error('4.2.0 Try again later'), { responseCode: 451 }));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const m = /^Message-ID:\s*(\S+)/im.exec(raw);
        messages.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw, messageId: m?.[1], sessionId: session.id });
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(p, host, () => resolve());
  });
  // A sender killed mid-session resets its connection; that is expected here.
  srv.on('error', () => undefined);
  return {
    port: p,
    messages,
    stop: () => new Promise<void>((resolve) => srv.close(() => resolve())),
  };
}

/** A raw SMTP client: send exact bytes, read replies. */
export class RawSmtp {
  private buf = '';
  private waiters: Array<() => void> = [];
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  /** From `localAddress` (another loopback address such as 127.0.0.2 is another client) when given; to `host` (`::1`) when given. */
  static async connect(port: number, localAddress?: string, host = '127.0.0.1'): Promise<RawSmtp> {
    const s = await new Promise<net.Socket>((resolve, reject) => {
      const sock = net.connect({ host, port, ...(localAddress ? { localAddress } : {}) }, () => resolve(sock));
      sock.once('error', reject);
    });
    return new RawSmtp(s);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next complete reply (all its lines), or undefined when the server closed. */
  async reply(timeoutMs = 10_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\r?\n/.exec(this.buf);
      if (m) {
        this.buf = this.buf.slice(m[0].length);
        return m[0].replace(/\r?\n$/, '');
      }
      if (this.closed) return undefined;
      if (Date.now() > deadline) throw new Error(`no reply within ${timeoutMs} ms; buffer: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async command(line: string): Promise<string | undefined> {
    this.write(line + '\r\n');
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * One message submitted as a mail client does (EHLO, one recipient, DATA), asserting each
 * step's success and the 250 2.6.0 that means it is queued.
 */
export async function submitMessage(port: number, opts: { messageId: string; to: string; from?: string; subject?: string; body?: string }): Promise<void> {
  const c = await RawSmtp.connect(port);
  try {
    assert.match((await c.reply()) ?? '', /^220 /);
    assert.match((await c.command('EHLO client.test')) ?? '', /^250/);
    assert.match((await c.command(`MAIL FROM:<${opts.from ?? 'alice@contoso.com'}>`)) ?? '', /^250 /);
    assert.match((await c.command(`RCPT TO:<${opts.to}>`)) ?? '', /^250 /);
    assert.match((await c.command('DATA')) ?? '', /^354 /);
    c.write(`Message-ID: <${opts.messageId}>\r\nSubject: ${opts.subject ?? opts.messageId}\r\n\r\n${opts.body ?? `body of ${opts.messageId}`}\r\n.\r\n`);
    assert.match((await c.reply()) ?? '', /^250 2\.6\.0 /);
    await c.command('QUIT');
  } finally {
    c.close();
  }
}

/**
 * Every row of a server's send or receive protocol log so far (none before its first file).
 * The transport appends rows in batches: flush them first, as Get-ConnectorCertificateUsage does.
 * Receive rows are in two folders, as in Exchange: FrontendTransport connectors (the Default Frontend) log where
 * Get-FrontendTransportService says, HubTransport connectors where Get-TransportService says; both are read, in time order.
 */
export async function protocolLog(s: TestServer, kind: 'Receive' | 'Send' = 'Receive'): Promise<ProtocolLogRow[]> {
  await s.transport.flushLogs();
  const [svc] = await s.api.ok('Get-TransportService', { Identity: s.server.serverName });
  const folders = [kind === 'Receive' ? svc.ReceiveProtocolLogPath : svc.SendProtocolLogPath];
  if (kind === 'Receive') folders.unshift((await s.api.ok('Get-FrontendTransportService', { Identity: s.server.serverName }))[0].ReceiveProtocolLogPath);
  const rows: ProtocolLogRow[] = [];
  for (const folder of folders) {
    try {
      for await (const r of readProtocolLogs(folder)) rows.push(r);
    } catch {
      /* no log file yet */
    }
  }
  // Stable: rows of one folder keep their file order (sequence numbers within a second).
  return kind === 'Receive' ? rows.map((r, i) => ({ r, i })).sort((a, b) => a.r.dateTime.getTime() - b.r.dateTime.getTime() || a.i - b.i).map(({ r }) => r) : rows;
}

/** Every row of a server's receive protocol log so far. */
export const receiveLog = (s: TestServer): Promise<ProtocolLogRow[]> => protocolLog(s, 'Receive');
