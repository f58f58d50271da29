// One inbound SMTP session: a state machine with one handler per verb. The
// Receive connector is chosen when the connection arrives and, with the
// configuration snapshot of that moment, governs the whole session.
//
// Why our own code and not smtp-server: Exchange's session model is the
// product (a connector's permission groups become session rights that change
// at AUTH; relay, Submit and send-as are decided per command; the protocol
// log writes Exchange's rows; the receive limits, tarpit and replies are
// Exchange's), and a generic server would sit between us and each of those.
// It is also the hot path: a DATA reader that copies each message once into
// blocks, no object per line, and one write per batch of replies. Owning it
// means owning what a hardened MTA gives: RFC 5321/6531 limits, no smuggling,
// bounded buffers and timers, checked against Postfix in the tests.
import { isUtf8 } from 'node:buffer';
import crypto, { X509Certificate } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import { sessionPermissionsText } from '../../connectors/receive-permissions.js';
import type { SmtpExtendedRight, TransportConfigRecord } from '../../directory/records.js';
import type { AcceptedDomainTable } from '../../organization/accepted-domains.js';
import type { ProtocolLogSession } from '../protocol-log/index.js';
import { TurnBudget } from './read-turns.js';
import type { ReceiveConnectorRuntime } from '../service/config-snapshot.js';
import { inboundDomainSecureRefusal } from '../routing/domain-secure.js';
import { clientCertificateProblem, presentedChain } from './client-certificate.js';
import { VerificationBusy, type AccountVerifier, type AuthenticatedUser } from './accounts.js';
import type { AuthThrottle } from './auth-throttle.js';
import type { BodyBuffers } from '../service/body-buffers.js';
import type { MessageMemoryBudget } from '../service/message-memory-budget.js';
import type { ReceiveConnectorCounters, TransportMetrics } from '../metrics/transport-metrics.js';
import { DataReader, type DataRefusal, type DataResult } from './data-reader.js';
import { headerSectionLength } from '../content/header-section.js';
import { REPLY } from './replies.js';
import {
  COMMAND_LINE_MAX,
  MAIL_LINE_MAX,
  NOT_UTF8,
  RCPT_LINE_MAX,
  nonAsciiWithoutSmtpUtf8,
  parseMailArgument,
  parseMailParameters,
  parseRcptArgument,
  parseRcptParameters,
  type MailParameters,
  type Mailbox,
  type RcptParameters,
  type Role,
} from './smtp-address.js';

export interface AcceptedMessage {
  from: string;
  recipients: string[];
  /** One buffer for a small message; a large one stays in the blocks it was received into (never copied whole). */
  body: Buffer | Buffer[];
  sourceConnector: string;
  sourceIp: string;
  internetMessageId: string | undefined;
  subject: string | undefined;
  receivedAt: Date;
  /** The user principal name of the SMTP AUTH user the message came from; undefined for anonymous mail. */
  authenticatedUser?: string;
  /** The server of the organization the message came from, authenticated by its internal transport certificate. */
  authenticatedServer?: string;
  /** MAIL FROM carried SMTPUTF8 (RFC 6531): addresses and headers may be UTF-8. */
  smtpUtf8?: boolean;
  /** The name the client gave in EHLO/HELO, and the address it reached us at (message tracking's RECEIVE row). */
  clientHostname?: string;
  localIp?: string;
}

export interface SessionHost {
  serverName: string;
  clock(): Date;
  /** Resolves once the message is durable (the 250 follows); returns the queue's message id. */
  accept(message: AcceptedMessage): Promise<number>;
  /** True once the service is stopping: idle sessions are closed at their next command. */
  stopping(): boolean;
  onClose(session: InboundSession): void;
  /** Mail users for SMTP AUTH; without it no connector offers AUTH. */
  accounts?: AccountVerifier;
  /** Without it, no recipient domain is accepted: only sessions that may relay can send. */
  acceptedDomains?: AcceptedDomainTable;
  /** Internal transport certificate thumbprints (upper case) of the organization's servers, to the server's name. */
  exchangeServers?: ReadonlyMap<string, string>;
  /** AUTH failures across sessions (per source and account); without it only MaxLogonFailures applies. */
  authThrottle?: AuthThrottle;
  /** The service's budget for message data in memory; past it DATA gets 452 4.3.1. */
  messageMemory?: MessageMemoryBudget;
  /** Where a message received whole gets its buffer (delivery gives it back); without it, fresh memory. */
  bodyBuffers?: BodyBuffers;
  /** Where sessions and handshakes are counted (the server's metrics). */
  metrics?: TransportMetrics;
  /** False while the server's HubTransport drains or is inactive (Set-ServerComponentState): MAIL gets 421 4.3.2. */
  acceptsNewMessages?(): boolean;
  /** The organization's transport settings (Set-TransportConfig); without them only the connector's limits apply. */
  organization?: OrganizationTransport;
}

/** What a session takes from the organization's transport settings. */
export interface OrganizationTransport {
  config: Pick<TransportConfigRecord, 'maxSendSize' | 'maxReceiveSize' | 'maxRecipientEnvelopeLimit'>;
  /** TLSReceiveDomainSecureList. */
  receiveDomainSecure: ReadonlySet<string>;
  /** Roots a domain-secured sender's client certificate may chain to. */
  clientRoots: readonly X509Certificate[];
}

const MAX_LINE = 4096;
/** SASL responses longer than this are refused (RFC 4954 allows 12288 octets for a whole AUTH line). */
const MAX_SASL_LINE = 12288;
/** Stop reading while this much of our output waits for a client that does not read. */
const WRITE_HIGH_WATER = 256 * 1024;
/** Stop reading while this much input waits for a message to be stored (a client pipelining past its DATA). */
const READ_HIGH_WATER = 64 * 1024;
/** Messages up to this size are joined into one buffer, which delivery may keep in memory; larger ones stay in blocks. */
const WHOLE_BODY_MAX = 1024 * 1024;

/** `tarpit`: an error reply is held back (TarpitInterval); nothing is read or written meanwhile. */
type State = 'command' | 'data' | 'busy' | 'tarpit' | 'closed';

/** A SASL exchange in progress: the next line is a response, not a command. */
type Sasl = { mechanism: 'PLAIN' } | { mechanism: 'LOGIN'; user?: string };

export class InboundSession {
  private socket: net.Socket;
  private buffer: Buffer | undefined;
  private state: State = 'command';
  private helo: string | undefined;
  private esmtp = false;
  private from: string | undefined;
  /** The transaction's MAIL FROM said SMTPUTF8. */
  private smtpUtf8 = false;
  private recipients: string[] = [];
  private data: DataReader | undefined;
  private errors = 0;
  private secure = false;
  private out: string[] = [];
  private discardingLongLine = false;
  /** The current command line: its length in octets with the line end, and whether it is valid UTF-8. */
  private lineOctets = 0;
  private lineUtf8 = true;
  private readonly remoteIp: string;
  private readonly localIp: string;
  private closeReason = 'Remote';
  private sasl: Sasl | undefined;
  private user: AuthenticatedUser | undefined;
  /** The server of the organization this session proved to be, by its TLS client certificate. */
  private exchangeServer: string | undefined;
  /** The certificate chain the client presented in TLS, leaf first; read only while a domain is domain-secured. */
  private clientChain: X509Certificate[] = [];
  private authFailures = 0;
  private readonly turnBudget = new TurnBudget();
  /** Reading stopped until the next turn of the event loop (read-turns.ts). */
  private yielding = false;
  /** ConnectionTimeout: the whole session, however busy. */
  private sessionTimer: NodeJS.Timeout | undefined;
  /** The one delay a session can have pending (a tarpit or an AUTH wait): cleared on close, never more than one. */
  private waitTimer: NodeJS.Timeout | undefined;
  private waitDone: (() => void) | undefined;
  private readonly counters: ReceiveConnectorCounters | undefined;

  constructor(
    socket: net.Socket,
    private readonly connector: ReceiveConnectorRuntime,
    private readonly host: SessionHost,
    private readonly log: ProtocolLogSession | undefined,
  ) {
    this.socket = socket;
    this.counters = host.metrics?.receiveConnector(connector.record.name);
    this.counters?.sessionOpened();
    this.remoteIp = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    this.localIp = (socket.localAddress ?? '').replace(/^::ffff:/, '');
    socket.setNoDelay(true);
    // ConnectionInactivityTimeout is the socket's idle timer; ConnectionTimeout bounds the whole session,
    // so a client that trickles a byte a second cannot hold the connection open.
    socket.setTimeout(connector.record.connectionInactivityTimeout);
    this.sessionTimer = setTimeout(() => {
      if (this.state === 'closed') return;
      this.reply(REPLY.sessionTimeout);
      this.close('Timeout');
    }, connector.record.connectionTimeout);
    this.attach(socket);
    log?.connect();
    log?.info(sessionPermissionsText(connector.rights.anonymous), 'Set Session Permissions');
    const banner = connector.record.banner ?? `220 ${connector.fqdn} Microsoft ESMTP MAIL Service ready at ${host.clock().toUTCString().replace('GMT', '+0000')}`;
    this.reply(banner);
    this.flush();
  }

  get isIdle(): boolean {
    return this.state === 'command' && this.from === undefined;
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => {
      if (this.state === 'closed') return;
      this.reply(REPLY.timeout);
      this.close('Timeout');
    });
    socket.on('error', () => this.close(this.closeReason));
    socket.on('close', () => this.close(this.closeReason));
    socket.on('drain', () => {
      if (socket === this.socket && this.mayRead()) socket.resume();
    });
  }

  /** Stop-Service after the grace period: 421 and close, whatever the session is doing. */
  abort(): void {
    if (this.state === 'closed') return;
    this.reply(REPLY.shuttingDown);
    this.close('Local');
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    // While a message is being stored nothing is read: what the client sends meanwhile waits in its socket, not here.
    if (this.state === 'busy' && this.buffer.length > READ_HIGH_WATER) this.socket.pause();
    if (this.turnBudget.spend(chunk.length)) this.yieldTurn();
    this.process();
  }

  /** Stops reading until the next turn of the event loop, when the session resumes unless something else holds it. */
  private yieldTurn(): void {
    if (this.yielding) return;
    this.yielding = true;
    const socket = this.socket;
    socket.pause();
    setImmediate(() => {
      this.yielding = false;
      if (socket === this.socket && this.mayRead()) socket.resume();
    });
  }

  /** Whether the session reads now: not while a message is stored, a reply is held, the client does not read what we write, or its turn is over. */
  private mayRead(): boolean {
    return (this.state === 'command' || this.state === 'data') && !this.yielding && this.socket.writableLength <= WRITE_HIGH_WATER;
  }

  /** Runs every complete command in the buffer (pipelining), then writes all replies at once. */
  private process(): void {
    while (this.buffer && this.buffer.length > 0 && (this.state === 'command' || this.state === 'data')) {
      if (this.state === 'data') {
        const buf = this.buffer;
        this.buffer = undefined;
        const result = this.data!.push(buf);
        if (!result) break;
        this.buffer = result.rest.length ? result.rest : undefined;
        this.endOfData(result);
        continue;
      }
      const nl = this.buffer.indexOf(0x0a);
      if (nl < 0) {
        if (this.buffer.length > (this.sasl ? MAX_SASL_LINE : MAX_LINE)) {
          // Overlong command: answer once, then skip to its end.
          this.sasl = undefined;
          if (!this.discardingLongLine) this.error(REPLY.lineTooLong);
          this.discardingLongLine = true;
          this.buffer = undefined;
        }
        break;
      }
      const raw = this.buffer.subarray(0, nl);
      this.buffer = nl + 1 < this.buffer.length ? this.buffer.subarray(nl + 1) : undefined;
      if (this.discardingLongLine) {
        this.discardingLongLine = false;
        continue;
      }
      if (raw.length > (this.sasl ? MAX_SASL_LINE : MAX_LINE)) {
        this.sasl = undefined;
        this.error(REPLY.lineTooLong);
        continue;
      }
      // UTF-8, not latin1: an SMTPUTF8 address must reach the next hop as the very bytes the client sent.
      this.lineOctets = raw.length + 1;
      this.lineUtf8 = isUtf8(raw);
      const line = raw.toString('utf8').replace(/\r$/, '');
      if (this.sasl) this.onSaslResponse(line);
      else this.command(line);
    }
    this.flush();
    if (this.socket.writableLength > WRITE_HIGH_WATER) this.socket.pause();
    else if (this.mayRead() && this.socket.isPaused()) this.socket.resume();
  }

  /** `tarpit` false: the reply goes out at once, as the last before the session closes does. */
  private reply(text: string, tarpit = true): void {
    this.out.push(text.includes('\n') ? text.replace(/\r?\n/g, '\r\n') + '\r\n' : text + '\r\n');
    this.log?.sent(text);
    if (!tarpit) return;
    // Exchange's tarpit: a 5xx reply to an anonymous session comes late; authenticated sessions are never delayed,
    // and a failed AUTH has its own AuthTarpitInterval. A session waiting on something else (busy) is not held twice.
    if (text.charCodeAt(0) === 0x35 && !text.startsWith('535') && !this.user && !this.exchangeServer && (this.state === 'command' || this.state === 'data') && this.connector.record.tarpitInterval > 0) {
      this.tarpit(text);
    }
  }

  /**
   * Holds the replies so far for TarpitInterval. The session stops reading
   * (TCP pushes back on the client), so what a client pipelines meanwhile
   * waits in the kernel, not here, and there is one timer per session at most.
   */
  private tarpit(text: string): void {
    const ms = this.connector.record.tarpitInterval;
    this.state = 'tarpit';
    this.socket.pause();
    this.log?.info(undefined, `Tarpit for '${logTimeSpan(ms)}' due to '${text}'`);
    void this.wait(ms).then(() => {
      if (this.state !== 'tarpit') return;
      this.state = 'command';
      this.socket.resume();
      this.process();
    });
  }

  /** Resolves after ms, or at once when the session closes (the timer is cleared then). */
  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.waitDone = resolve;
      this.waitTimer = setTimeout(() => {
        this.waitTimer = undefined;
        this.waitDone = undefined;
        resolve();
      }, ms);
    });
  }

  private flush(): void {
    if (this.state === 'tarpit') return;
    if (this.out.length === 0 || this.socket.destroyed) {
      this.out = [];
      return;
    }
    this.socket.write(this.out.length === 1 ? this.out[0] : this.out.join(''));
    this.out = [];
  }

  /** A protocol error; Exchange's MaxProtocolErrors ends the session at the limit, right after the error's reply. */
  private error(text: string): void {
    const max = this.connector.record.maxProtocolErrors;
    const last = max !== null && ++this.errors >= max;
    this.reply(text, !last);
    if (last) {
      this.reply(REPLY.tooManyErrors);
      this.close('TooManyErrors');
    }
  }

  private close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.sessionTimer);
    clearTimeout(this.waitTimer);
    this.waitDone?.();
    this.data?.release();
    this.flush();
    this.log?.disconnect(reason);
    const socket = this.socket;
    if (!this.secure && socket.writableLength === 0) {
      // All we wrote is in the kernel, which sends it before the FIN: close now, as Postfix does after its 221.
      // Half-closing and waiting for the client cost a read error (an Error with its stack) for every client
      // that resets after QUIT. A TLS session ends with its close_notify alert instead (end()).
      socket.destroy();
    } else socket.end();
    // A client that never reads must not keep the socket open forever. The timer holds the socket only, and
    // goes when the socket closes: one holding the session kept every session of the last 5 s alive (10,000
    // at 2,000 sessions a second, half the live heap, and most of the collector's marking work).
    if (!socket.destroyed) {
      const kill = setTimeout(() => socket.destroy(), 5000).unref();
      socket.once('close', () => clearTimeout(kill));
    }
    this.host.onClose(this);
  }

  private command(line: string): void {
    const sp = line.indexOf(' ');
    const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? '' : line.slice(sp + 1);
    // Never write credentials into the log: of AUTH only the mechanism name.
    this.log?.received(verb === 'AUTH' ? authLogText(arg) : line);
    if (this.lineOctets > (verb === 'MAIL' ? MAIL_LINE_MAX : verb === 'RCPT' ? RCPT_LINE_MAX : verb === 'AUTH' ? MAX_SASL_LINE : COMMAND_LINE_MAX)) return this.error(REPLY.lineTooLong);
    if (this.host.stopping() && this.isIdle && verb !== 'QUIT') {
      this.reply(REPLY.shuttingDown);
      this.close('Local');
      return;
    }
    switch (verb) {
      case 'EHLO':
      case 'HELO':
        return this.onHello(verb, arg);
      case 'STARTTLS':
        return this.onStartTls(arg);
      case 'MAIL':
        return this.onMail(arg);
      case 'RCPT':
        return this.onRcpt(arg);
      case 'DATA':
        return this.onDataCommand(arg);
      case 'RSET':
        this.resetTransaction();
        return this.reply(REPLY.reset);
      case 'NOOP':
        return this.reply(REPLY.noop);
      case 'QUIT':
        this.reply(REPLY.quit);
        this.closeReason = 'QuitVerb';
        return this.close('QuitVerb');
      case 'VRFY':
        return this.reply(REPLY.vrfy);
      case 'AUTH':
        return this.onAuth(arg);
      case 'BDAT':
        return this.error(REPLY.bdatNotOffered);
      default:
        return this.error(REPLY.unrecognized(verb || line));
    }
  }

  private resetTransaction(): void {
    this.from = undefined;
    this.smtpUtf8 = false;
    this.recipients = [];
  }

  private offersStartTls(): boolean {
    return !this.secure && this.connector.tls !== undefined;
  }

  /** BasicAuth on the connector; with BasicAuthRequireTLS only once TLS is up. */
  private authAvailable(): 'yes' | 'needs-tls' | 'no' {
    const mechanisms = this.connector.record.authMechanism;
    if (!this.host.accounts || !mechanisms.includes('BasicAuth')) return 'no';
    if (mechanisms.includes('BasicAuthRequireTLS') && !this.secure) return 'needs-tls';
    return 'yes';
  }

  private onAuth(arg: string): void {
    const [mechanismText, initial, ...extra] = arg.trim().split(/\s+/);
    const mechanism = (mechanismText ?? '').toUpperCase();
    if (!this.helo) return this.error(REPLY.needHelo);
    const available = this.authAvailable();
    if (available === 'no' || (mechanism !== 'LOGIN' && mechanism !== 'PLAIN') || extra.length > 0) return this.error(REPLY.authNotOffered);
    if (available === 'needs-tls') return this.error(REPLY.mustStartTls);
    if (this.user) return this.error(REPLY.authAlready);
    if (this.from !== undefined) return this.error(REPLY.authInTransaction);
    if (mechanism === 'PLAIN') {
      this.sasl = { mechanism: 'PLAIN' };
      if (initial === undefined) return this.reply(REPLY.authPlainChallenge);
      return this.onSaslResponse(initial);
    }
    this.sasl = { mechanism: 'LOGIN' };
    if (initial === undefined) return this.reply(REPLY.authLoginUser);
    return this.onSaslResponse(initial);
  }

  /** One client line of a SASL exchange. Never logged: it carries the credentials. */
  private onSaslResponse(line: string): void {
    const sasl = this.sasl!;
    const text = line.trim();
    if (text === '*') {
      this.sasl = undefined;
      return this.error(REPLY.authCancelled);
    }
    const decoded = decodeBase64(text);
    if (decoded === undefined) {
      this.sasl = undefined;
      return this.error(REPLY.authBadBase64);
    }
    if (sasl.mechanism === 'LOGIN' && sasl.user === undefined) {
      sasl.user = decoded.toString('utf8');
      return this.reply(REPLY.authLoginPassword);
    }
    this.sasl = undefined;
    let login: string;
    let password: string;
    if (sasl.mechanism === 'LOGIN') {
      login = sasl.user!;
      password = decoded.toString('utf8');
    } else {
      // authzid NUL authcid NUL passwd; an authzid other than the user itself (acting for someone else) is refused.
      const parts = decoded.toString('utf8').split('\0');
      if (parts.length !== 3 || !parts[1]) return this.error(REPLY.authBadPlain);
      [, login, password] = parts;
      if (parts[0] && parts[0].toLowerCase() !== login.toLowerCase()) return void this.authenticate(sasl.mechanism, undefined, '', '');
    }
    void this.authenticate(sasl.mechanism, this.host.accounts, login, password);
  }

  private async authenticate(mechanism: string, accounts: AccountVerifier | undefined, login: string, password: string): Promise<void> {
    this.state = 'busy';
    // Nothing more is read until the answer: a client cannot queue lines behind a slow check.
    this.socket.pause();
    const account = accounts?.accountKey(login) ?? '';
    const verdict = this.host.authThrottle?.before(this.remoteIp, account);
    if (verdict?.kind === 'refuse') {
      // Refused without a password check; the right password would get the same answer, so it tells nothing.
      this.log?.info(undefined, `Inbound AUTH ${mechanism} refused because of ${verdict.reason} until ${new Date(verdict.until).toISOString()}`);
      this.reply(REPLY.authThrottled);
      return this.afterAuthFailure();
    }
    if (verdict && verdict.delayMs > 0) {
      this.log?.info(undefined, `Tarpit for '${logTimeSpan(verdict.delayMs)}' due to earlier AUTH failures from this address`);
      await this.wait(verdict.delayMs);
      if (this.isClosed()) return;
    }
    let user: AuthenticatedUser | undefined;
    try {
      user = accounts ? await accounts.verify(login, password) : undefined;
    } catch (e) {
      if (e instanceof VerificationBusy) {
        if (this.isClosed()) return;
        this.reply(REPLY.authThrottled);
        return this.resume();
      }
      user = undefined;
    }
    if (this.isClosed()) return;
    if (user) {
      this.user = user;
      this.log?.info(sessionPermissionsText(this.connector.rights.authenticated), 'Set Session Permissions');
      this.log?.info(user.userPrincipalName, 'authenticated');
      this.reply(REPLY.authSucceeded);
      return this.resume();
    }
    this.host.authThrottle?.failed(this.remoteIp, account);
    this.log?.info(undefined, `Inbound AUTH ${mechanism} failed because of LogonDenied`);
    await this.wait(this.connector.record.authTarpitInterval);
    if (this.isClosed()) return;
    this.reply(REPLY.authFailed);
    this.afterAuthFailure();
  }

  /** Exchange's MaxLogonFailures: the session ends after that many failed attempts (0: never for them). */
  private afterAuthFailure(): void {
    const max = this.connector.record.maxLogonFailures;
    if (++this.authFailures >= max && max > 0) {
      this.reply(REPLY.authTooManyFailures);
      return this.close('TooManyErrors');
    }
    this.resume();
  }

  /** Re-reads the state after an await (the compiler would keep the narrowed one). */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private resume(): void {
    this.state = 'command';
    this.socket.resume();
    this.process();
    this.flush();
  }

  private onHello(verb: string, arg: string): void {
    const name = arg.trim();
    if (!name) return this.error(`501 5.5.4 Invalid domain name`);
    this.helo = name.split(/\s+/)[0];
    this.esmtp = verb === 'EHLO';
    this.resetTransaction();
    const greeting = REPLY.ehloGreeting(this.connector.fqdn, this.remoteIp);
    if (!this.esmtp) return this.reply(`250 ${greeting}`);
    const lines = [greeting, `SIZE ${this.maxMessageSize}`, 'PIPELINING', 'DSN', 'ENHANCEDSTATUSCODES'];
    if (this.offersStartTls()) lines.push('STARTTLS');
    if (this.authAvailable() === 'yes') lines.push('AUTH LOGIN PLAIN');
    lines.push('8BITMIME', 'SMTPUTF8');
    this.reply(lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}`).join('\n'));
  }

  private onStartTls(arg: string): void {
    if (arg.trim()) return this.error('501 5.5.4 Syntax error: STARTTLS takes no parameters');
    if (this.secure) return this.error(REPLY.tlsAlready);
    const material = this.connector.tls;
    if (!material) return this.error(REPLY.tlsNotAvailable);
    this.reply(REPLY.startTls);
    this.flush();
    // RFC 3207: anything the client pipelined after STARTTLS was sent in the clear; drop it.
    this.buffer = undefined;
    this.log?.sendingCertificate(material.logFacts);
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('timeout');
    plain.removeAllListeners('drain');
    plain.removeAllListeners('error');
    plain.removeAllListeners('close');
    this.state = 'busy';
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: material.secureContext, requestCert: true, rejectUnauthorized: false });
    this.socket = secure;
    secure.setTimeout(this.connector.record.connectionInactivityTimeout);
    this.attach(secure);
    secure.once('secure', () => {
      this.secure = true;
      this.counters?.tlsHandshake();
      const cipher = secure.getCipher();
      this.log?.tlsNegotiated(secure.getProtocol() ?? 'TLSv1.2', { name: cipher.name, standardName: cipher.standardName, version: cipher.version }, secure.getEphemeralKeyInfo() as never);
      const peer = secure.getPeerCertificate();
      const thumbprint = peer && peer.raw ? crypto.createHash('sha1').update(peer.raw).digest('hex').toUpperCase() : undefined;
      if (thumbprint) this.log?.receivedCertificate({ thumbprint });
      if (thumbprint) {
        const chain = presentedChain(secure);
        if (this.host.organization?.receiveDomainSecure.size) this.clientChain = chain.map((der) => new X509Certificate(der));
      }
      // A fresh start after TLS: the client must say EHLO again (RFC 3207 also forgets any AUTH, which cannot have happened here).
      this.helo = undefined;
      this.user = undefined;
      this.authenticateExchangeServer(thumbprint);
      this.resetTransaction();
      this.state = 'command';
      this.process();
    });
    secure.once('error', (e: Error) => {
      this.log?.tlsFailed(e.message);
      if (!this.secure) this.counters?.tlsFailed('tls');
    });
  }

  /**
   * Exchange server authentication: TLS proved the client holds the key of its certificate, so a certificate
   * that is the internal transport certificate of a server of the organization authenticates that server.
   */
  private authenticateExchangeServer(thumbprint: string | undefined): void {
    if (!thumbprint || !this.connector.authenticatesExchangeServers) return;
    const server = this.host.exchangeServers?.get(thumbprint);
    if (!server) return;
    this.exchangeServer = server;
    this.log?.info(sessionPermissionsText(this.connector.rights.exchangeServer), 'Set Session Permissions');
    this.log?.info(server, 'authenticated as an Exchange server by its internal transport certificate');
  }

  private checkReadyForMail(): boolean {
    if (!this.helo) {
      this.error(REPLY.needHelo);
      return false;
    }
    if (this.connector.record.requireTls && !this.secure) {
      this.error(REPLY.mustStartTls);
      return false;
    }
    if (!this.maySubmit()) {
      this.error(this.user || this.exchangeServer ? REPLY.submitDenied : REPLY.notAuthenticated);
      return false;
    }
    return true;
  }

  private holds(right: SmtpExtendedRight): boolean {
    const rights = this.exchangeServer ? this.connector.rights.exchangeServer : this.user ? this.connector.rights.authenticated : this.connector.rights.anonymous;
    return rights.has(right);
  }

  /** AnonymousUsers grants Submit to everyone, ExchangeUsers to an authenticated user. */
  private maySubmit(): boolean {
    return this.holds('ms-Exch-SMTP-Submit');
  }

  /** Anyone may send to an accepted domain; other domains need ms-Exch-SMTP-Accept-Any-Recipient (relay). */
  private mayRelayTo(address: string): boolean {
    return this.holds('ms-Exch-SMTP-Accept-Any-Recipient') || this.host.acceptedDomains?.findForAddress(address) !== undefined;
  }

  /** An authenticated user sends as its own addresses, unless the connector trusts its senders (ExchangeServers). */
  private maySendAs(address: string): boolean {
    if (!this.user || this.connector.record.permissionGroups.includes('ExchangeServers')) return true;
    return this.user.sendAs.has(address.toLowerCase());
  }

  /**
   * The connector's MaxMessageSize, or the organization's MaxReceiveSize or MaxSendSize where smaller: a message
   * through Interchange is both sent and received by the organization, so both limits apply to it.
   */
  private get maxMessageSize(): number {
    const c = this.host.organization?.config;
    return Math.min(this.connector.record.maxMessageSize, c?.maxReceiveSize ?? Infinity, c?.maxSendSize ?? Infinity);
  }

  /** The connector's MaxRecipientsPerMessage, or the organization's MaxRecipientEnvelopeLimit where smaller. */
  private get maxRecipients(): number {
    return Math.min(this.connector.record.maxRecipientsPerMessage, this.host.organization?.config.maxRecipientEnvelopeLimit ?? Infinity);
  }

  /** TLSReceiveDomainSecureList: a sender of a listed domain must have proved, over TLS, that it is that domain's. */
  private domainSecureRefusal(address: string): string | undefined {
    const org = this.host.organization;
    if (!org || org.receiveDomainSecure.size === 0) return undefined;
    const at = address.lastIndexOf('@');
    if (at < 0) return undefined;
    return inboundDomainSecureRefusal(org.receiveDomainSecure, address.slice(at + 1), {
      connectorOffersTls: this.connector.record.authMechanism.includes('Tls'),
      secure: this.secure,
      clientCertificate: this.clientChain.length > 0,
      certificateProblem: (domain) => clientCertificateProblem(this.clientChain, org.clientRoots, domain, this.host.clock()),
    });
  }

  private onMail(arg: string): void {
    if (!this.checkReadyForMail()) return;
    if (this.host.acceptsNewMessages?.() === false) {
      // A server taken out of mail flow: the client tries another (its queue is being finished meanwhile).
      this.reply(REPLY.notAccepting);
      this.close('Local');
      return;
    }
    if (this.from !== undefined) return this.error(REPLY.senderAlready);
    const path = parseMailArgument(arg);
    if (!path.ok) return this.error(path.reply);
    const params = this.esmtp ? parseMailParameters(path.value.parameters, { authOffered: this.authAvailable() === 'yes' }) : noParameters<MailParameters>(path.value.parameters, { smtpUtf8: false });
    if (!params.ok) return this.error(params.reply);
    const refusal = this.encodingRefusal('sender', path.value.mailbox, params.value.smtpUtf8);
    if (refusal) return this.error(refusal);
    const address = path.value.mailbox?.address ?? '';
    if (!this.maySendAs(address)) return this.reply(REPLY.sendAsDenied);
    if (params.value.size !== undefined && params.value.size > this.maxMessageSize) return this.reply(REPLY.tooBig);
    const domainSecure = this.domainSecureRefusal(address);
    if (domainSecure) return this.reply(domainSecure);
    // BODY=8BITMIME needs nothing more: the body is stored and passed on as received.
    // RET and ENVID (RFC 3461) are checked but not yet honoured: our DSNs always carry the headers and no ENVID.
    this.from = address;
    this.smtpUtf8 = params.value.smtpUtf8;
    this.recipients = [];
    this.reply(REPLY.senderOk);
  }

  /** RFC 6531: non-ASCII needs SMTPUTF8 on MAIL (553 5.6.7), and then valid UTF-8. */
  private encodingRefusal(role: Role, mailbox: Mailbox | undefined, smtpUtf8: boolean): string | undefined {
    if (!this.lineUtf8) return smtpUtf8 ? NOT_UTF8(role) : nonAsciiWithoutSmtpUtf8(role);
    if (mailbox?.nonAscii && !smtpUtf8) return nonAsciiWithoutSmtpUtf8(role);
    return undefined;
  }

  private onRcpt(arg: string): void {
    if (!this.checkReadyForMail()) return;
    if (this.from === undefined) return this.error(REPLY.needMail);
    const path = parseRcptArgument(arg);
    if (!path.ok) return this.error(path.reply);
    // NOTIFY and ORCPT (RFC 3461) are checked but not yet honoured: we send failure DSNs whatever NOTIFY says.
    const params = this.esmtp ? parseRcptParameters(path.value.parameters) : noParameters<RcptParameters>(path.value.parameters, {});
    if (!params.ok) return this.error(params.reply);
    const refusal = this.encodingRefusal('recipient', path.value.mailbox, this.smtpUtf8);
    if (refusal) return this.error(refusal);
    const address = path.value.mailbox.address;
    if (this.recipients.length >= this.maxRecipients) return this.reply(REPLY.tooManyRecipients);
    if (!this.mayRelayTo(address)) return this.reply(REPLY.relayDenied);
    this.recipients.push(address);
    this.reply(REPLY.recipientOk);
  }

  private onDataCommand(arg: string): void {
    if (arg.trim()) return this.error('501 5.5.4 Syntax error: DATA takes no parameters');
    if (!this.checkReadyForMail()) return;
    if (this.from === undefined) return this.error(REPLY.needMail);
    if (this.recipients.length === 0) return this.error(REPLY.needRcpt);
    const reader = new DataReader({ maxMessageSize: this.maxMessageSize, maxHeaderSize: this.connector.record.maxHeaderSize, budget: this.host.messageMemory });
    if (!reader.begin()) return this.reply(REPLY.insufficientResources);
    this.reply(REPLY.startData);
    this.data = reader;
    this.state = 'data';
  }

  private endOfData(result: DataResult): void {
    const reader = this.data!;
    this.data = undefined;
    const from = this.from!;
    const recipients = this.recipients;
    const smtpUtf8 = this.smtpUtf8;
    this.resetTransaction();
    if (result.refusal) {
      reader.recycle();
      this.state = 'command';
      return this.reply(REFUSAL_REPLY[result.refusal]);
    }
    const receivedAt = this.host.clock();
    const headers = headerSummary(headerPart(result.blocks));
    if (headers.received >= MAX_HOP_COUNT) {
      // A mail loop (two servers routing a domain to each other): refused here, the previous hop reports it to the sender.
      reader.recycle();
      this.state = 'command';
      return this.reply(REPLY.hopCountExceeded);
    }
    const messageId = headers.messageId ?? `<${crypto.randomUUID()}@${this.connector.fqdn}>`;
    const received =
      `Received: from ${sanitize(this.helo ?? this.remoteIp)} (${this.remoteIp}) by ${this.connector.fqdn} (${this.host.serverName})\r\n` +
      ` with ${this.esmtp ? `ESMTP${this.secure ? 'S' : ''}${this.user || this.exchangeServer ? 'A' : ''}` : 'SMTP'}; ${receivedAt.toUTCString().replace('GMT', '+0000')}\r\n`;
    const prefix = Buffer.from(received + (headers.messageId ? '' : `Message-ID: ${messageId}\r\n`), 'latin1');
    // Our trace headers, then the received blocks: joined for a small message, as they are for a large one.
    const whole = prefix.length + result.size <= WHOLE_BODY_MAX;
    const body = whole ? joinBody(this.host.bodyBuffers, prefix, result.blocks, prefix.length + result.size) : [prefix, ...result.blocks];
    if (whole) reader.recycle();
    this.state = 'busy';
    this.log?.info(undefined, 'receiving message');
    this.host
      .accept({
        from,
        recipients,
        body,
        sourceConnector: this.connector.record.name,
        sourceIp: this.remoteIp,
        clientHostname: this.helo,
        localIp: this.localIp,
        internetMessageId: messageId,
        subject: headers.subject,
        receivedAt,
        ...(this.user ? { authenticatedUser: this.user.userPrincipalName } : {}),
        ...(this.exchangeServer ? { authenticatedServer: this.exchangeServer } : {}),
        ...(smtpUtf8 ? { smtpUtf8 } : {}),
      })
      .then(
        (id) => {
          if (this.state === 'closed') return;
          this.reply(REPLY.queued(messageId, id, this.connector.fqdn));
        },
        () => {
          if (this.state === 'closed') return;
          this.reply(REPLY.storeFailed);
        },
      )
      .finally(() => {
        reader.release();
        if (this.state === 'closed') return;
        this.state = 'command';
        this.process();
        this.flush();
      });
  }
}

/** The trace headers and the received blocks in one buffer of `length` bytes. */
function joinBody(pool: BodyBuffers | undefined, prefix: Buffer, blocks: readonly Buffer[], length: number): Buffer {
  if (!pool) return Buffer.concat([prefix, ...blocks], length);
  const body = pool.take(length);
  let at = prefix.copy(body, 0);
  for (const b of blocks) at += b.copy(body, at);
  // A pooled buffer holds an earlier message: nothing past what was copied may ever be sent.
  return at === length ? body : body.subarray(0, at);
}

/**
 * Received header fields a message may already carry. RFC 5321 §6.3 asks for a
 * threshold of at least 100, so that only a loop, never a long legitimate path, is refused.
 */
export const MAX_HOP_COUNT = 100;

/** A TimeSpan as Exchange writes it in the protocol log: `0.00:00:05`. */
function logTimeSpan(ms: number): string {
  const s = Math.round(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${Math.floor(s / 86400)}.${pad(Math.floor(s / 3600) % 24)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}
const REFUSAL_REPLY: Record<DataRefusal, string> = {
  tooBig: REPLY.tooBig,
  headerTooBig: REPLY.headerTooBig,
  lineTooLong: REPLY.dataLineTooLong,
  bareLf: REPLY.bareLf,
  bareCr: REPLY.bareCr,
  noMemory: REPLY.insufficientResources,
};

/** `AUTH LOGIN` as sent; `AUTH PLAIN ****` when an initial response (the credentials) followed. */
function authLogText(arg: string): string {
  const [mechanism, ...rest] = arg.trim().split(/\s+/);
  const name = /^[A-Za-z0-9_-]{1,20}$/.test(mechanism ?? '') ? mechanism : '****';
  return rest.length > 0 ? `AUTH ${name} ****` : `AUTH ${name}`;
}

/** Strict Base64 (RFC 4648 alphabet, padding optional); `=` alone is an empty response (RFC 4954). */
function decodeBase64(text: string): Buffer | undefined {
  if (text === '=') return Buffer.alloc(0);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64');
}

/** After HELO there are no service extensions (RFC 5321 §4.1.1.1): MAIL and RCPT take no parameters. */
function noParameters<T>(text: string, value: T): { ok: true; value: T } | { ok: false; reply: string } {
  return text.trim() ? { ok: false, reply: '501 5.5.4 Parameters need EHLO, not HELO' } : { ok: true, value };
}

function sanitize(s: string): string {
  return s.replace(/[^\x21-\x7e]/g, '').slice(0, 255);
}

/**
 * The blocks that hold the header section (as much of it as headerSummary reads): the first block alone
 * when the blank line is in it, so that a large message is not copied to read its headers.
 */
function headerPart(blocks: readonly Buffer[]): Buffer {
  if (blocks.length <= 1) return blocks[0] ?? Buffer.alloc(0);
  return headerSectionLength(blocks[0]) >= 0 ? blocks[0] : Buffer.concat(blocks.slice(0, 2));
}

/** Subject and Message-ID from the header section (unfolded), without parsing the whole message. */
export function headerSummary(body: Buffer): { subject?: string; messageId?: string; received: number } {
  const length = headerSectionLength(body);
  const text = body.subarray(0, Math.min(length < 0 ? body.length : length, 65536)).toString('utf8').replace(/\r\n[ \t]+/g, ' ');
  const out: { subject?: string; messageId?: string; received: number } = { received: 0 };
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).toLowerCase();
    if (name === 'received') out.received++;
    else if (name === 'subject' && out.subject === undefined) out.subject = line.slice(colon + 1).trim();
    else if (name === 'message-id' && out.messageId === undefined) out.messageId = line.slice(colon + 1).trim();
  }
  return out;
}
