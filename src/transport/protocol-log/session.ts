import { fieldRoom, putBytes, putField, putFieldComma, putInt, putTimestamp, TIMESTAMP_BYTES } from '../logging/row-bytes.js';
import { csvField, formatDateTime, joinMultilineReply, type ProtocolLogEvent } from './format.js';
import { describeTlsNegotiation, type EphemeralKeyInfo, type TlsCipherInfo } from './tls-description.js';
import type { ProtocolLogWriter } from './writer.js';

/** What the `Sending certificate` row says about a certificate (Get-ExchangeCertificate's names). */
export interface CertificateLogFacts {
  /** .NET form, e.g. `CN=mail.contoso.com, O=Contoso, C=US`. */
  subject: string;
  issuer: string;
  /** Upper-case hex. */
  serialNumber: string;
  /** SHA-1, 40 upper-case hex digits. */
  thumbprint: string;
  notBefore: Date;
  notAfter: Date;
  certificateDomains: string[];
}

const EMPTY_ENDPOINTS = Buffer.from(',,,');

export const SENDING_CERTIFICATE_CONTEXT =
  'Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after Subject alternate names';

/** Disconnect reasons Exchange writes in the context of the `-` row. */
export type DisconnectReason =
  | 'QuitVerb'
  | 'Timeout'
  | 'SenderDisconnected'
  | 'TooManyErrors'
  | 'DroppedSession'
  | 'Remote'
  | 'Local'
  | 'SuppressLogging'
  | 'None'
  | (string & {});

export interface ProtocolLogSessionOptions {
  connectorId: string;
  localEndpoint?: string;
  remoteEndpoint?: string;
  /** Defaults to a fresh id from the writer. */
  sessionId?: string;
}

/**
 * The rows of one SMTP session: one session id, sequence numbers from 0, the
 * endpoints repeated on every row. `>` is always what this server sent and `<`
 * what it received, on both the Send and the Receive side.
 */
export class ProtocolLogSession {
  readonly sessionId: string;
  readonly connectorId: string;
  private seq = 0;
  /** The fields every row of the session repeats, escaped and encoded once: `,connector,session,` and `,local,remote,`. */
  private readonly ids: Buffer;
  private endpoints: Buffer = EMPTY_ENDPOINTS;

  constructor(
    private readonly writer: ProtocolLogWriter,
    opts: ProtocolLogSessionOptions,
  ) {
    this.connectorId = opts.connectorId;
    this.sessionId = opts.sessionId ?? writer.newSessionId();
    this.ids = Buffer.from(`,${csvField(this.connectorId)},${this.sessionId},`);
    this.setEndpoints(opts.localEndpoint, opts.remoteEndpoint);
  }

  /** The next sequence number that will be written. */
  get sequenceNumber(): number {
    return this.seq;
  }

  /** Outbound sessions learn their local endpoint only once connected. */
  setEndpoints(localEndpoint: string | undefined, remoteEndpoint: string | undefined): void {
    this.endpoints = Buffer.from(`,${csvField(localEndpoint)},${csvField(remoteEndpoint)},`);
  }

  /**
   * formatRow's bytes, encoded into the writer's chunk from the session's fixed fields: a row per SMTP line
   * is the hot path of a verbose log.
   */
  private row(event: ProtocolLogEvent, data?: string, context?: string): void {
    const w = this.writer;
    const seq = this.seq++;
    const at = w.nowMs();
    const space = w.reserve(at, TIMESTAMP_BYTES + this.ids.length + 24 + this.endpoints.length + 3 + fieldRoom(data) + fieldRoom(context));
    if (!space) return;
    const buf = space.buf;
    let p = putTimestamp(buf, space.used, at);
    p = putBytes(buf, p, this.ids);
    p = putInt(buf, p, seq);
    p = putBytes(buf, p, this.endpoints);
    buf[p++] = event.charCodeAt(0);
    buf[p++] = 0x2c;
    p = putFieldComma(buf, p, data);
    w.endRow(space, putField(buf, p, context));
  }

  /** Send side, before the TCP connection: `*,,attempting to connect`. */
  attemptingToConnect(): void {
    this.row('*', undefined, 'attempting to connect');
  }

  connect(): void {
    this.row('+');
  }

  disconnect(reason: DisconnectReason): void {
    this.row('-', undefined, reason);
  }

  /** A command or reply this server sent. Multi-line replies become one row, as in Exchange 2016+. */
  sent(line: string): void {
    this.row('>', joinMultilineReply(line));
  }

  received(line: string): void {
    this.row('<', joinMultilineReply(line));
  }

  info(data: string | undefined, context: string | undefined): void {
    this.row('*', data, context);
  }

  /** The single 2016/2019 row (the data field starts with a space). */
  sendingCertificate(facts: CertificateLogFacts): void {
    this.row('*', formatCertificateData(facts), SENDING_CERTIFICATE_CONTEXT);
  }

  /** The peer's certificate: `*,,Received certificate` then `*,<thumbprint>,Certificate thumbprint`. */
  receivedCertificate(facts: Pick<CertificateLogFacts, 'thumbprint'>): void {
    this.row('*', undefined, 'Received certificate');
    this.row('*', facts.thumbprint.toUpperCase(), 'Certificate thumbprint');
  }

  /** Takes what a Node TLSSocket reports: getProtocol(), getCipher(), getEphemeralKeyInfo(). */
  tlsNegotiated(protocol: string, cipher: TlsCipherInfo | string, ephemeral?: EphemeralKeyInfo | object | null): void {
    this.row('*', undefined, describeTlsNegotiation(this.writer.kind, protocol, cipher, ephemeral));
  }

  /** e.g. `NoCredentials` when the certificate has no usable private key. */
  tlsFailed(error: string): void {
    this.row('*', undefined, `TLS negotiation failed with error ${error}`);
  }
}

/** ` <Subject> <Issuer> <SerialNumber> <Thumbprint> <NotBefore> <NotAfter> <Domains;joined>` */
export function formatCertificateData(f: CertificateLogFacts): string {
  return (
    ' ' +
    [
      f.subject,
      f.issuer,
      f.serialNumber.toUpperCase(),
      f.thumbprint.toUpperCase(),
      formatDateTime(f.notBefore),
      formatDateTime(f.notAfter),
      f.certificateDomains.join(';'),
    ].join(' ')
  );
}
