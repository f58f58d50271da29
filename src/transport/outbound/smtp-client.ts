// One outbound SMTP connection of a Send connector: greeting, EHLO, STARTTLS
// with the connector's client certificate, then one message after another
// (pipelined when the peer offers PIPELINING) until the caller quits.
//
// Why our own code and not nodemailer: the Send connector decides things a
// mail library hides (the exact certificate TlsCertificateName selects, the
// 454 4.7.5 when there is none, TlsAuthLevel checks, smart-host AUTH), the
// send protocol log must record Exchange's rows (Sending certificate, the
// peer's replies) as they happen, one connection carries many queued messages,
// and a message that needs SMTPUTF8 must fail cleanly at a peer without it.
// The body is written from the spool's blocks, dot-stuffed without a per-line
// copy, and paced by the socket's drain.
//
// A next hop is a remote party like any client: what it sends is bounded as
// Postfix's smtp client bounds it (smtp_chat.c): reply lines are read to
// line_length_limit and the rest dropped, a multi-line reply's text is kept up
// to a limit, a reply that goes on past MAX_REPLY_BYTES or past the
// connector's ConnectionInactivityTimeOut fails the connection, and replies
// read ahead of the commands that wait for them stop the reading.
import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { ProtocolLogSession } from '../protocol-log/index.js';
import type { SendConnectorRuntime } from '../service/config-snapshot.js';
import { outboundTlsPolicy, type OutboundTlsPolicy } from '../routing/domain-secure.js';
import { checkRemoteCertificate } from './tls-policy.js';
import { forgetSession, keepSession, refuseResumption, sessionFor } from './tls-sessions.js';
import { headerSectionLength } from '../content/header-section.js';

/** A failure with the reply that goes into the queue's LastError. */
export class DeliveryError extends Error {
  constructor(
    readonly reply: string,
    /** permanent: 5xx for the message; otherwise a retry. */
    readonly permanent: boolean,
    /** The connection itself failed (the queue goes to Retry, not just the message). */
    readonly connectionLevel: boolean,
  ) {
    super(reply);
  }
}

export const CERTIFICATE_NOT_FOUND = '454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could not be found.';

export interface ConnectTarget {
  /** Address to connect to (IP or host name). */
  host: string;
  port: number;
  /** The name the target was found by (smart host or MX host), for SNI and logs. */
  name: string;
}

/**
 * A body too large to hold whole for its delivery: read from the spool a
 * chunk at a time as the peer takes it.
 */
export interface SpooledBody {
  readonly length: number;
  /** Its first bytes, enough for the header section. */
  readonly head: Buffer;
  chunks(): AsyncIterable<Buffer>;
}

export interface OutboundMessage {
  id: number;
  from: string;
  recipients: string[];
  body: Buffer | SpooledBody;
  internetMessageId?: string;
  /** Received with SMTPUTF8 (RFC 6531). */
  smtpUtf8?: boolean;
}

export interface SendResult {
  accepted: string[];
  /** Recipients the peer refused, with its reply. */
  rejected: Array<{ recipient: string; reply: string; permanent: boolean }>;
  /** The peer's final reply to the data. */
  reply: string;
}

interface Reply {
  code: number;
  text: string;
}

const TIMEOUT_MS = 60_000;
const REPLY_TIMEOUT = '451 4.4.2 Timeout waiting for the remote server';

/** RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; Postfix reads to its line_length_limit (2048) and drops the rest. */
const MAX_REPLY_LINE = 2048;
/** The text kept of one multi-line reply (EHLO's extensions are read from it; an EHLO reply is usually a few hundred). */
const MAX_REPLY_TEXT = 8192;
/** One reply longer than this, over all its lines, is not SMTP: the connection fails instead of reading on. */
const MAX_REPLY_BYTES = 64 * 1024;
/** Replies that arrived before a command waits for them (pipelined RCPTs); beyond it the socket stops reading until they are taken. */
const MAX_QUEUED_REPLIES = 1000;

export class SmtpClientConnection {
  private socket: net.Socket;
  /** The reply line being read, at most MAX_REPLY_LINE characters; `dropping` once it passed that, until its end. */
  private buffer = '';
  private dropping = false;
  private lines: string[] = [];
  /** Characters of the lines kept in `lines`, and of the whole reply so far. */
  private textChars = 0;
  private replyChars = 0;
  /** When the first byte of the reply being read came: a reply trickled a byte at a time never lets the idle timeout fire. */
  private replyStarted = 0;
  private waiting: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  private replies: Reply[] = [];
  private failure: Error | undefined;
  private extensions = new Set<string>();
  /** SASL mechanisms the peer offered in its last EHLO (AUTH and the old AUTH= form). */
  private authMechanisms = new Set<string>();
  private maxSize = 0;
  messagesSent = 0;
  secure = false;
  presentedThumbprint: string | undefined;

  /** The connector's TLS settings, or domain security's for a domain-secured recipient domain. */
  private readonly tlsPolicy: OutboundTlsPolicy;

  private constructor(
    socket: net.Socket,
    private readonly runtime: SendConnectorRuntime,
    private readonly log: ProtocolLogSession | undefined,
    readonly target: ConnectTarget,
    domainSecure: string | undefined,
  ) {
    this.socket = socket;
    this.tlsPolicy = outboundTlsPolicy(runtime.record, domainSecure);
    this.attach(socket);
  }

  /** The Send connector this session belongs to, as the logs name it. */
  get connectorName(): string {
    return this.runtime.record.name;
  }

  get closed(): boolean {
    return this.failure !== undefined || this.socket.destroyed;
  }

  /** The next hop's address and ours, as the message tracking log's SEND rows name them. */
  get remoteIp(): string {
    return (this.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  }

  get localIp(): string {
    return (this.socket.localAddress ?? '').replace(/^::ffff:/, '');
  }

  /**
   * Connects and gets the session ready for MAIL: greeting, EHLO, STARTTLS
   * (unless IgnoreSTARTTLS) with the client certificate the connector selects,
   * the TLS checks of TlsAuthLevel, EHLO again. With `domainSecure` (a domain of TLSSendDomainSecureList)
   * TLS is required and the next hop's certificate must validate for that domain, or nothing is sent.
   */
  static async open(runtime: SendConnectorRuntime, target: ConnectTarget, log: ProtocolLogSession | undefined, tlsDomainFallback: string, domainSecure?: string): Promise<SmtpClientConnection> {
    log?.setEndpoints(undefined, endpoint(target.host, target.port));
    log?.attemptingToConnect();
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: target.host, port: target.port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new DeliveryError(`451 4.4.1 Connection to ${target.name} (${target.host}:${target.port}) timed out`, false, true));
      }, Math.min(runtime.record.connectionInactivityTimeOut || TIMEOUT_MS, TIMEOUT_MS));
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new DeliveryError(`451 4.4.0 Primary target IP address responded with: "421 4.2.1 Unable to connect." Attempted failover to alternate host, but that did not succeed. Either there are no alternate hosts, or delivery failed to all alternate hosts. The last endpoint attempted was ${target.host}:${target.port} (${e.code ?? e.message})`, false, true));
      });
    });
    log?.setEndpoints(endpoint(socket.localAddress, socket.localPort), endpoint(socket.remoteAddress, socket.remotePort));
    log?.connect();
    const conn = new SmtpClientConnection(socket, runtime, log, target, domainSecure);
    try {
      await conn.handshake(tlsDomainFallback);
      return conn;
    } catch (e) {
      conn.destroy();
      throw e;
    }
  }

  /** ConnectionInactivityTimeOut, at most 10 minutes: for silence, and for the whole of one reply. */
  private get inactivityMs(): number {
    return Math.min(this.runtime.record.connectionInactivityTimeOut || TIMEOUT_MS, 10 * 60_000);
  }

  private attach(socket: net.Socket): void {
    socket.setEncoding('latin1');
    socket.setTimeout(this.inactivityMs);
    socket.on('data', (d: string) => this.onData(d));
    socket.on('timeout', () => this.fail(new DeliveryError(REPLY_TIMEOUT, false, true)));
    socket.on('error', (e) => this.fail(new DeliveryError(`451 4.4.0 Connection error: ${e.message}`, false, true)));
    socket.on('close', () => this.fail(new DeliveryError('451 4.4.0 The remote server closed the connection', false, true)));
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  private onData(d: string): void {
    const now = Date.now();
    if (this.replyChars > 0 && now - this.replyStarted > this.inactivityMs) {
      this.fail(new DeliveryError(REPLY_TIMEOUT, false, true));
      this.socket.destroy();
      return;
    }
    let from = 0;
    while (from < d.length && !this.failure) {
      const nl = d.indexOf('\n', from);
      const end = nl < 0 ? d.length : nl;
      if (this.replyChars === 0) this.replyStarted = now;
      this.replyChars += end - from + (nl < 0 ? 0 : 1);
      if (this.replyChars > MAX_REPLY_BYTES) {
        this.fail(new DeliveryError(`451 4.4.0 ${this.target.name} sent a reply longer than ${MAX_REPLY_BYTES} bytes`, false, true));
        this.socket.destroy();
        return;
      }
      if (!this.dropping) {
        const room = MAX_REPLY_LINE - this.buffer.length;
        if (end - from > room) this.dropping = true;
        const piece = d.slice(from, from + Math.min(room, end - from));
        this.buffer = this.buffer ? this.buffer + piece : piece;
      }
      if (nl < 0) return;
      from = nl + 1;
      const raw = this.buffer;
      const line = raw.charCodeAt(raw.length - 1) === 0x0d ? raw.slice(0, -1) : raw;
      this.buffer = '';
      this.dropping = false;
      if (this.textChars + line.length <= MAX_REPLY_TEXT) {
        this.lines.push(line);
        this.textChars += line.length + 1;
      }
      if (line.length < 4 || line[3] !== '-') this.replyEnded(line);
    }
  }

  /** The reply's last line was read: it goes to the command waiting for it, or waits for one. */
  private replyEnded(last: string): void {
    const text = this.lines.length ? this.lines.join('\n') : last;
    this.lines = [];
    this.textChars = 0;
    this.replyChars = 0;
    this.log?.received(text);
    const r = { code: Number(last.slice(0, 3)) || 0, text };
    const w = this.waiting.shift();
    if (w) return w.resolve(r);
    this.replies.push(r);
    if (this.replies.length >= MAX_QUEUED_REPLIES) this.socket.pause();
  }

  private read(): Promise<Reply> {
    const r = this.replies.shift();
    if (this.replies.length === MAX_QUEUED_REPLIES - 1 && !this.failure) this.socket.resume();
    if (r) return Promise.resolve(r);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private write(commands: string[]): void {
    for (const c of commands) this.log?.sent(c);
    this.socket.write(commands.map((c) => c + '\r\n').join(''));
  }

  /** A line carrying credentials: the log gets `logAs` (or nothing), never the line. */
  private async secretCommand(line: string, logAs: string | undefined): Promise<Reply> {
    if (logAs !== undefined) this.log?.sent(logAs);
    this.socket.write(line + '\r\n');
    return this.read();
  }

  private async command(cmd: string): Promise<Reply> {
    this.write([cmd]);
    return this.read();
  }

  private async ehlo(): Promise<void> {
    const name = this.runtime.fqdn;
    let r = await this.command(`${this.runtime.record.forceHelo ? 'HELO' : 'EHLO'} ${name}`);
    if (r.code !== 250 && !this.runtime.record.forceHelo) r = await this.command(`HELO ${name}`);
    if (r.code !== 250) throw replyError(r, true);
    this.extensions.clear();
    this.authMechanisms.clear();
    for (const line of r.text.split('\n').slice(1)) {
      const kw = line.slice(4).trim().toUpperCase();
      this.extensions.add(kw.split(' ')[0]);
      const auth = /^AUTH[ =](.*)$/.exec(kw);
      if (auth) for (const m of auth[1].split(/\s+/).filter(Boolean)) this.authMechanisms.add(m);
      if (kw.startsWith('SIZE ')) this.maxSize = Number(kw.slice(5)) || 0;
    }
  }

  private async handshake(tlsDomainFallback: string): Promise<void> {
    const greeting = await this.read();
    if (greeting.code !== 220) throw replyError(greeting, true);
    await this.ehlo();
    await this.negotiateTls(tlsDomainFallback);
    await this.smartHostAuth();
  }

  /**
   * SmartHostAuthMechanism BasicAuth / BasicAuthRequireTLS: AUTH PLAIN when
   * offered, else AUTH LOGIN, with the connector's AuthenticationCredential.
   * The credentials never reach the protocol log.
   */
  private async smartHostAuth(): Promise<void> {
    const record = this.runtime.record;
    const mechanism = record.smartHostAuthMechanism;
    if (mechanism !== 'BasicAuth' && mechanism !== 'BasicAuthRequireTLS') return;
    const where = `${this.target.host}:${this.target.port}`;
    if (mechanism === 'BasicAuthRequireTLS' && !this.secure) {
      throw new DeliveryError(`451 4.7.4 ${this.target.name} (${where}) did not offer STARTTLS, and the Send connector ${record.name} (SmartHostAuthMechanism BasicAuthRequireTLS) sends its credentials only over TLS`, false, true);
    }
    const credential = this.runtime.credential;
    if (!credential) throw new DeliveryError(`451 4.7.0 The AuthenticationCredential of the Send connector ${record.name} is not set or cannot be read`, false, true);
    let r: Reply;
    if (this.authMechanisms.has('PLAIN')) {
      const response = Buffer.from(`\0${credential.userName}\0${credential.password}`, 'utf8').toString('base64');
      r = await this.secretCommand(`AUTH PLAIN ${response}`, 'AUTH PLAIN ****');
    } else if (this.authMechanisms.has('LOGIN')) {
      r = await this.command('AUTH LOGIN');
      if (r.code === 334) r = await this.secretCommand(Buffer.from(credential.userName, 'utf8').toString('base64'), undefined);
      if (r.code === 334) r = await this.secretCommand(Buffer.from(credential.password, 'utf8').toString('base64'), undefined);
    } else {
      throw new DeliveryError(`451 4.7.0 ${this.target.name} (${where}) offers neither AUTH PLAIN nor AUTH LOGIN, which the Send connector ${record.name} (SmartHostAuthMechanism ${mechanism}) needs`, false, true);
    }
    if (r.code === 235) return;
    this.log?.info(undefined, 'Outbound Authentication failed with LogonDenied');
    throw new DeliveryError(
      `451 4.4.0 Primary target IP address responded with: "${oneLine(r.text)}." Attempted failover to alternate host, but that did not succeed. Either there are no alternate hosts, or delivery failed to all alternate hosts. The last endpoint attempted was ${where} (Outbound Authentication failed with LogonDenied)`,
      false,
      true,
    );
  }

  private async negotiateTls(tlsDomainFallback: string): Promise<void> {
    const record = this.runtime.record;
    const policy = this.tlsPolicy;
    const offered = this.extensions.has('STARTTLS');
    if (policy.ignoreStartTls || !offered) {
      if (policy.domainSecure) {
        throw new DeliveryError(`451 4.7.4 ${this.target.name} did not offer STARTTLS, and mail to ${policy.domainSecure} (TLSSendDomainSecureList) is sent only over TLS to a host whose certificate validates for it`, false, true);
      }
      if (policy.requireTls) throw new DeliveryError(`451 4.7.4 ${this.target.name} did not offer STARTTLS, and the Send connector ${record.name} requires TLS`, false, true);
      return;
    }
    const choice = this.runtime.clientCertificate;
    // Exchange looks the certificate up when it is about to start TLS; none found abandons the connection.
    if (choice.kind === 'named-missing') {
      this.log?.tlsFailed('CannotLoadSTARTTLSCertificateFromStore');
      throw new DeliveryError(CERTIFICATE_NOT_FOUND, false, true);
    }
    const r = await this.command('STARTTLS');
    if (r.code !== 220) {
      if (policy.requireTls) throw replyError(r, true);
      return;
    }
    if (choice.material) {
      this.log?.sendingCertificate(choice.material.logFacts);
      this.presentedThumbprint = choice.material.thumbprint;
    }
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('timeout');
    plain.removeAllListeners('error');
    plain.removeAllListeners('close');
    const servername = net.isIP(this.target.name.replace(/^\[|\]$/g, '')) ? undefined : this.target.name;
    const context = this.runtime.secureContext;
    const hop = `${this.target.host}:${this.target.port}/${servername ?? ''}`;
    const kept = sessionFor(context, hop);
    let refused = false;
    const refuse = (reply: string): DeliveryError => {
      refused = true;
      forgetSession(context, hop);
      return new DeliveryError(reply, false, true);
    };
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      // Chain validation only: the name check is TlsAuthLevel's business (tls-policy), against TlsDomain, not the host we dialled.
      const s = tls.connect({ socket: plain, secureContext: context, servername, session: kept?.session, rejectUnauthorized: false, checkServerIdentity: () => undefined });
      s.on('session', (session: Buffer) => {
        const peer = s.isSessionReused() ? kept?.peer : s.getPeerCertificate();
        if (peer?.raw && !refused) keepSession(context, hop, { session, peer });
      });
      let connected = false;
      s.once('secureConnect', () => {
        connected = true;
        resolve(s);
      });
      s.once('error', (e) => {
        refused = true;
        if (kept && !connected) refuseResumption(context, hop);
        this.log?.tlsFailed(e.message);
        reject(new DeliveryError(`451 4.4.317 TLS negotiation with ${this.target.name} failed: ${e.message}`, false, true));
      });
    });
    this.socket = secure;
    this.attach(secure);
    this.secure = true;
    const cipher = secure.getCipher();
    this.log?.tlsNegotiated(secure.getProtocol() ?? 'TLSv1.2', { name: cipher.name, standardName: cipher.standardName, version: cipher.version }, secure.getEphemeralKeyInfo() as never);
    const peer = secure.isSessionReused() && kept ? kept.peer : secure.getPeerCertificate();
    const peerThumbprint = peer && peer.raw ? crypto.createHash('sha1').update(peer.raw).digest('hex').toUpperCase() : undefined;
    if (peerThumbprint) this.log?.receivedCertificate({ thumbprint: peerThumbprint });
    const mismatch = pinMismatch(this.runtime.pinnedServerThumbprint, peerThumbprint, this.target);
    if (mismatch) {
      this.log?.info(undefined, mismatch);
      throw refuse(mismatch);
    }
    const problem = checkRemoteCertificate({ name: record.name, tlsAuthLevel: policy.tlsAuthLevel, tlsDomain: policy.tlsDomain }, { authorized: secure.authorized, authorizationError: secure.authorizationError, certificate: peer }, tlsDomainFallback);
    if (problem && policy.domainSecure) {
      const reply = `${problem}; mail to ${policy.domainSecure} (TLSSendDomainSecureList) waits for a next hop whose certificate validates for it`;
      this.log?.info(undefined, reply);
      throw refuse(reply);
    }
    if (problem) throw refuse(problem);
    await this.ehlo();
  }

  /** Sends one message; recipient refusals are reported, connection trouble throws. */
  async send(msg: OutboundMessage): Promise<SendResult> {
    if (this.failure) throw this.failure;
    this.log?.info(undefined, `sending message with RecordId ${msg.id} and InternetMessageId ${msg.internetMessageId ?? ''}`);
    if (this.maxSize && msg.body.length > this.maxSize) {
      return { accepted: [], rejected: msg.recipients.map((recipient) => ({ recipient, reply: `552 5.3.4 Message size ${msg.body.length} exceeds the remote limit of ${this.maxSize}`, permanent: true })), reply: '' };
    }
    const peerUtf8 = this.extensions.has('SMTPUTF8');
    // RFC 6531 §3.2: what needs SMTPUTF8 is never downgraded or sent to a next hop without it; it fails with 5.6.7 (an NDR).
    // A message that asked for SMTPUTF8 but is all ASCII in envelope and headers goes on without it, as Postfix does.
    if (msg.smtpUtf8 && !peerUtf8 && needsSmtpUtf8(msg)) {
      const reply = `550 5.6.7 ${this.target.name} does not offer SMTPUTF8, which this message needs for its non-ASCII addresses or headers`;
      return { accepted: [], rejected: msg.recipients.map((recipient) => ({ recipient, reply, permanent: true })), reply: '' };
    }
    const mail = `MAIL FROM:<${msg.from}>${this.extensions.has('SIZE') ? ` SIZE=${msg.body.length}` : ''}${msg.smtpUtf8 && peerUtf8 ? ' SMTPUTF8' : ''}`;
    const rcpts = msg.recipients.map((r) => `RCPT TO:<${r}>`);
    const pipelining = this.extensions.has('PIPELINING');
    let replies: Reply[];
    if (pipelining) {
      this.write([mail, ...rcpts, 'DATA']);
      replies = [];
      for (let i = 0; i < rcpts.length + 2; i++) replies.push(await this.read());
    } else {
      replies = [await this.command(mail)];
      if (replies[0].code === 250) for (const r of rcpts) replies.push(await this.command(r));
      if (replies.slice(1).some((r) => r.code === 250 || r.code === 251)) replies.push(await this.command('DATA'));
    }
    const mailReply = replies[0];
    const rejected: SendResult['rejected'] = [];
    const accepted: string[] = [];
    if (mailReply.code !== 250) {
      if (replies.length === rcpts.length + 2 && replies[replies.length - 1].code === 354) await this.abortData();
      await this.reset();
      const e = replyError(mailReply, false);
      return { accepted: [], rejected: msg.recipients.map((recipient) => ({ recipient, reply: e.reply, permanent: e.permanent })), reply: mailReply.text };
    }
    msg.recipients.forEach((recipient, i) => {
      const r = replies[i + 1];
      if (r && (r.code === 250 || r.code === 251)) accepted.push(recipient);
      else rejected.push({ recipient, reply: r ? oneLine(r.text) : '451 4.4.0 No reply to RCPT', permanent: r ? r.code >= 500 : false });
    });
    const dataReply = replies[rcpts.length + 1];
    if (accepted.length === 0 || !dataReply || dataReply.code !== 354) {
      if (dataReply && dataReply.code === 354) await this.abortData();
      await this.reset();
      if (dataReply && dataReply.code !== 354 && accepted.length > 0) {
        const e = replyError(dataReply, false);
        return { accepted: [], rejected: msg.recipients.map((recipient) => ({ recipient, reply: e.reply, permanent: e.permanent })), reply: dataReply.text };
      }
      return { accepted: [], rejected, reply: '' };
    }
    await this.writeBody(msg.body);
    const final = await this.read();
    this.messagesSent++;
    if (final.code !== 250) {
      const e = replyError(final, false);
      return { accepted: [], rejected: msg.recipients.map((recipient) => ({ recipient, reply: e.reply, permanent: e.permanent })), reply: final.text };
    }
    return { accepted, rejected, reply: oneLine(final.text) };
  }

  /**
   * Writes the message after 354, a block at a time as the peer takes it: never the whole stuffed copy queued
   * at once. The last block goes out with the terminator in one gathered write: one segment and one wake-up of
   * the peer fewer per message than writing the `.` on its own. A TLS socket copies a gathered write into one
   * buffer before it encrypts it; that copy of a 100 KB block still costs less CPU than a second record and
   * write, and far less than joining the two in a new Buffer, whose fresh pages fault in
   * (scripts/bench/tls-write.mjs: 84-87, 89-105 and 242-365 µs per 100 KB message; docs/benchmarks.md).
   */
  private async writeBody(body: Buffer | SpooledBody): Promise<void> {
    const stuffer = new DotStuffer();
    let held: Buffer | undefined;
    const take = async (chunk: Buffer): Promise<void> => {
      for (const block of stuffer.push(chunk)) {
        if (held) await this.writePaced(held);
        held = block;
      }
    };
    if (Buffer.isBuffer(body)) await take(body);
    else for await (const chunk of body.chunks()) await take(chunk);
    const end = stuffer.end();
    if (!held) return this.writePaced(end);
    this.socket.cork();
    this.socket.write(held);
    this.socket.write(end);
    this.socket.uncork();
    await this.paced();
  }

  private async writePaced(block: Buffer): Promise<void> {
    if (this.socket.write(block)) return;
    await this.paced();
  }

  /** Waits until the socket took what was written, when it asked for a pause (a closed socket never will). */
  private async paced(): Promise<void> {
    const socket = this.socket;
    if (socket.writableNeedDrain && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
    if (this.failure) throw this.failure;
  }

  /** The peer said 354 although every recipient failed (pipelining): send an empty message and let RSET discard it. */
  private async abortData(): Promise<void> {
    this.socket.write('.\r\n');
    await this.read().catch(() => undefined);
  }

  private async reset(): Promise<void> {
    await this.command('RSET').catch(() => undefined);
  }

  async quit(): Promise<void> {
    if (this.failure) return this.destroy();
    try {
      this.write(['QUIT']);
      await Promise.race([this.read(), new Promise((r) => setTimeout(r, 2000))]);
    } catch {
      /* the peer closed first: fine */
    }
    this.log?.disconnect('Local');
    this.destroy();
  }

  destroy(): void {
    this.fail(new DeliveryError('451 4.4.0 Connection closed', false, true));
    this.socket.destroy();
  }
}

/**
 * A next hop pinned to a certificate (another server of the organization, by its internal transport
 * certificate) that presents another one is not that server: the session is refused, and retried later.
 */
export function pinMismatch(pinned: string | undefined, presented: string | undefined, target: ConnectTarget): string | undefined {
  if (!pinned || presented?.toUpperCase() === pinned.toUpperCase()) return undefined;
  return `454 4.7.5 ${target.name} (${target.host}:${target.port}) presented the certificate ${presented ?? '(none)'}, not its internal transport certificate ${pinned.toUpperCase()}`;
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Non-ASCII in the envelope this connection would send, or an 8-bit octet in the header section. */
function needsSmtpUtf8(msg: OutboundMessage): boolean {
  if (NON_ASCII.test(msg.from) || msg.recipients.some((r) => NON_ASCII.test(r))) return true;
  const start = Buffer.isBuffer(msg.body) ? msg.body : msg.body.head;
  const length = headerSectionLength(start);
  const headers = start.subarray(0, length < 0 ? start.length : length);
  for (let i = 0; i < headers.length; i++) if (headers[i] > 0x7f) return true;
  return false;
}

function oneLine(text: string): string {
  return text.split('\n').map((l, i) => (i === 0 ? l : l.slice(4))).join(' ');
}

function replyError(r: Reply, connectionLevel: boolean): DeliveryError {
  const text = oneLine(r.text) || '451 4.4.0 No reply';
  return new DeliveryError(text, r.code >= 500 && r.code < 600, connectionLevel);
}

const END_AFTER_CRLF = Buffer.from('.\r\n');
const END_WITH_CRLF = Buffer.from('\r\n.\r\n');
const LF_DOT = Buffer.from('\n.');
const STUFFED_BLOCK = 64 * 1024;

/**
 * The message as sent after DATA, a chunk at a time: dot-stuffed, CRLF
 * completed, terminator added. A chunk with no line-start dot goes as it is;
 * one with such dots is copied once into blocks, byte by byte, never an
 * object per line (a message of dot lines would otherwise cost one per four
 * bytes). A line may begin in one chunk and go on in the next.
 */
export class DotStuffer {
  private lineStart = true;
  /** The last two bytes pushed (a CRLF at the end needs no second one). */
  private last = -1;
  private beforeLast = -1;

  *push(chunk: Buffer): Generator<Buffer> {
    if (chunk.length === 0) return;
    this.beforeLast = chunk.length >= 2 ? chunk[chunk.length - 2] : this.last;
    this.last = chunk[chunk.length - 1];
    if (!(this.lineStart && chunk[0] === DOT) && chunk.indexOf(LF_DOT) < 0) {
      this.lineStart = this.last === LF;
      yield chunk;
      return;
    }
    let out = Buffer.allocUnsafe(STUFFED_BLOCK);
    let o = 0;
    let lineStart = this.lineStart;
    for (let i = 0; i < chunk.length; i++) {
      // Room for a byte and its stuffed dot.
      if (o >= STUFFED_BLOCK - 1) {
        yield out.subarray(0, o);
        out = Buffer.allocUnsafe(STUFFED_BLOCK);
        o = 0;
      }
      const c = chunk[i];
      if (lineStart && c === DOT) out[o++] = DOT;
      out[o++] = c;
      lineStart = c === LF;
    }
    this.lineStart = lineStart;
    yield out.subarray(0, o);
  }

  /** The terminator, after a CRLF if the content did not end with one. */
  end(): Buffer {
    return this.beforeLast === CR && this.last === LF ? END_AFTER_CRLF : END_WITH_CRLF;
  }
}

const DOT = 0x2e;
const CR = 0x0d;
const LF = 0x0a;

export function* dotStuffBlocks(body: Buffer): Generator<Buffer> {
  const stuffer = new DotStuffer();
  yield* stuffer.push(body);
  yield stuffer.end();
}

export function dotStuff(body: Buffer): Buffer {
  return Buffer.concat([...dotStuffBlocks(body)]);
}

function endpoint(address: string | undefined, port: number | undefined): string {
  const a = (address ?? '').replace(/^::ffff:/, '');
  return a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`;
}
