// DNS dynamic update (RFC 2136) signed with TSIG (RFC 8945), for the dns-01 challenge.
//
// Written here rather than taken from npm: no maintained Node package does RFC 2136 with TSIG
// (the DNS libraries there are resolvers or servers; the update clients found were abandoned
// or shell out to nsupdate). dns-packet, which is maintained, encodes names and TXT data and
// decodes answers; it has no UPDATE sections of its own, no class NONE and no TSIG record, so
// the message is laid out here and the MAC computed with node:crypto. Every message goes over
// TCP: an update must not be sent twice by a UDP retry, and TCP needs no truncation handling.
import crypto from 'node:crypto';
import net from 'node:net';
import dnsPacketModule from 'dns-packet';
import { InterchangeError } from '../../errors/interchange-error.js';

/** The parts of dns-packet used here; its published types declare only the whole-message functions. */
interface Codec<T> {
  encode(value: T): Buffer;
  decode(buf: Buffer, offset: number): T;
}
const dnsPacket = dnsPacketModule as unknown as {
  name: Codec<string> & { decode: { bytes: number } };
  txt: Codec<Array<string | Buffer>>;
  question: Codec<unknown> & { decode: { bytes: number } };
  answer: Codec<{ name: string; data?: unknown }> & { decode: { bytes: number } };
};
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha512';
export const TSIG_ALGORITHMS: readonly TsigAlgorithm[] = ['hmac-sha256', 'hmac-sha512'];

export interface DnsUpdateTarget {
  /** host or host:port (port 53 by default); [v6]:port for an IPv6 literal with a port. */
  server: string;
  keyName: string;
  algorithm: TsigAlgorithm;
  /** The TSIG secret, as BIND's key files and tsig-keygen give it: base64. */
  secret: Buffer;
  /** The zone to update; null: the server's answer for the name tells. */
  zone: string | null;
  /** Longest wait for one answer. */
  timeoutMs?: number;
}

const TYPE = { SOA: 6, TXT: 16, TSIG: 250 } as const;
const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
const OPCODE = { QUERY: 0, UPDATE: 5 } as const;
/** RFC 8945 §5.2.3: time signed may differ from the server's clock by this much. */
const FUDGE = 300;
const TSIG_ERRORS: Record<number, string> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };

export function parseServer(server: string): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(server);
  if (v6) return { host: v6[1], port: v6[2] ? Number(v6[2]) : 53 };
  const colons = server.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = server.split(':');
    return { host, port: Number(port) };
  }
  return { host: server, port: 53 };
}

/** A name in canonical wire form (RFC 4034 §6.2: lower case, uncompressed), as TSIG's MAC covers it. */
function wireName(name: string): Buffer {
  return dnsPacket.name.encode(name.toLowerCase().replace(/\.$/, ''));
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u48(n: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(n, 0, 6);
  return b;
}

function record(name: string, type: number, klass: number, ttl: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(klass, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([wireName(name), fixed, rdata]);
}

function txtData(value: string): Buffer {
  // dns-packet's record encoders write RDLENGTH first; record() writes its own.
  return dnsPacket.txt.encode([value]).subarray(2);
}

interface Message {
  id: number;
  opcode: number;
  /** Questions, or for an update the zone (RFC 2136 §2.3). */
  questions: Array<{ name: string; type: number; klass: number }>;
  /** Encoded RRs: the prerequisites of an update. */
  answers?: Buffer[];
  /** Encoded RRs: the update section. */
  authorities?: Buffer[];
}

function encodeMessage(m: Message): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(m.id, 0);
  header.writeUInt16BE(m.opcode << 11, 2);
  header.writeUInt16BE(m.questions.length, 4);
  header.writeUInt16BE(m.answers?.length ?? 0, 6);
  header.writeUInt16BE(m.authorities?.length ?? 0, 8);
  header.writeUInt16BE(0, 10);
  const questions = m.questions.map((q) => Buffer.concat([wireName(q.name), u16(q.type), u16(q.klass)]));
  return Buffer.concat([header, ...questions, ...(m.answers ?? []), ...(m.authorities ?? [])]);
}

interface Tsig {
  keyName: string;
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
}

/** RFC 8945 §4.3.3: the TSIG variables the MAC covers after the message. */
function tsigVariables(t: Omit<Tsig, 'mac' | 'originalId'>): Buffer {
  const ttl = Buffer.alloc(4);
  return Buffer.concat([wireName(t.keyName), u16(CLASS.ANY), ttl, wireName(t.algorithm), u48(t.timeSigned), u16(t.fudge), u16(t.error), u16(t.other.length), t.other]);
}

function hmac(algorithm: TsigAlgorithm, secret: Buffer, parts: Buffer[]): Buffer {
  const h = crypto.createHmac(algorithm === 'hmac-sha512' ? 'sha512' : 'sha256', secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Appends a TSIG record to an encoded message (ARCOUNT + 1); returns the signed message and its MAC. */
function sign(message: Buffer, target: DnsUpdateTarget, now: Date): { signed: Buffer; mac: Buffer } {
  const timeSigned = Math.floor(now.getTime() / 1000);
  const vars = { keyName: target.keyName, algorithm: target.algorithm, timeSigned, fudge: FUDGE, error: 0, other: Buffer.alloc(0) };
  const mac = hmac(target.algorithm, target.secret, [message, tsigVariables(vars)]);
  const rdata = Buffer.concat([wireName(target.algorithm), u48(timeSigned), u16(FUDGE), u16(mac.length), mac, message.subarray(0, 2), u16(0), u16(0)]);
  const signed = Buffer.concat([message, record(target.keyName, TYPE.TSIG, CLASS.ANY, 0, rdata)]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { signed, mac };
}

interface Answer {
  name: string;
  type: number;
  klass: number;
  data: unknown;
}

interface Response {
  rcode: number;
  answers: Answer[];
  authorities: Answer[];
}

function readTsig(buf: Buffer, offset: number): Tsig {
  const keyName = dnsPacket.name.decode(buf, offset);
  let o = offset + dnsPacket.name.decode.bytes + 10;
  const algorithm = dnsPacket.name.decode(buf, o);
  o += dnsPacket.name.decode.bytes;
  const timeSigned = buf.readUIntBE(o, 6);
  const fudge = buf.readUInt16BE(o + 6);
  const macSize = buf.readUInt16BE(o + 8);
  const mac = buf.subarray(o + 10, o + 10 + macSize);
  o += 10 + macSize;
  const originalId = buf.readUInt16BE(o);
  const error = buf.readUInt16BE(o + 2);
  const otherLen = buf.readUInt16BE(o + 4);
  return { keyName, algorithm, timeSigned, fudge, mac, originalId, error, other: buf.subarray(o + 6, o + 6 + otherLen) };
}

/**
 * Decodes the answer and checks its TSIG against the request's MAC (RFC 8945 §5.3). A server that
 * refuses the key answers unsigned with NOTAUTH and a TSIG error: that is reported, not trusted.
 */
function readResponse(buf: Buffer, id: number, requestMac: Buffer | null, target: DnsUpdateTarget, where: string): Response {
  if (buf.length < 12 || buf.readUInt16BE(0) !== id) throw new InterchangeError('ICX_ACME_DNS_UPDATE_UNVERIFIED', `${where} sent an answer that is not to the request (another message ID).`, { details: { server: target.server } });
  const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o));
  const rcode = buf.readUInt16BE(2) & 0xf;
  let offset = 12;
  for (let i = 0; i < counts[0]; i++) {
    dnsPacket.question.decode(buf, offset);
    offset += dnsPacket.question.decode.bytes;
  }
  const sections: Answer[][] = [[], [], []];
  let tsig: { start: number; value: Tsig } | undefined;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]; i++) {
      const start = offset;
      const nameEnd = start + (dnsPacket.name.decode(buf, start), dnsPacket.name.decode.bytes);
      const type = buf.readUInt16BE(nameEnd);
      if (type === TYPE.TSIG) {
        if (s !== 2 || i !== counts[3] - 1) throw new InterchangeError('ICX_ACME_DNS_UPDATE_UNVERIFIED', `${where} sent a TSIG record that is not the last one of its answer.`, { details: { server: target.server } });
        tsig = { start, value: readTsig(buf, start) };
        offset = nameEnd + 10 + buf.readUInt16BE(nameEnd + 8);
        continue;
      }
      const a = dnsPacket.answer.decode(buf, start);
      offset += dnsPacket.answer.decode.bytes;
      sections[s].push({ name: a.name, type, klass: buf.readUInt16BE(nameEnd + 2), data: a.data });
    }
  }
  if (!requestMac) return { rcode, answers: sections[0], authorities: sections[1] };
  if (!tsig) {
    // An unsigned refusal is taken as one (a forged one can only make the request fail); an unsigned success is not.
    if (rcode !== 0) return { rcode, answers: [], authorities: [] };
    throw new InterchangeError('ICX_ACME_DNS_UPDATE_UNVERIFIED', `${where} answered without a TSIG signature: the answer can't be trusted to come from the server that holds the key.`, { details: { server: target.server } });
  }
  const t = tsig.value;
  if (t.error !== 0) {
    const name = TSIG_ERRORS[t.error] ?? `TSIG error ${t.error}`;
    throw refused(rcode === 0 ? 9 : rcode, target, where, name);
  }
  const unsigned = Buffer.from(buf.subarray(0, tsig.start));
  unsigned.writeUInt16BE(t.originalId, 0);
  unsigned.writeUInt16BE(counts[3] - 1, 10);
  const expected = hmac(target.algorithm, target.secret, [u16(requestMac.length), requestMac, unsigned, tsigVariables(t)]);
  if (t.mac.length !== expected.length || !crypto.timingSafeEqual(t.mac, expected)) {
    throw new InterchangeError('ICX_ACME_DNS_UPDATE_UNVERIFIED', `${where} sent an answer whose TSIG signature does not verify with key ${target.keyName}.`, { details: { server: target.server, keyName: target.keyName } });
  }
  // RFC 8945 §5.4.3: a signed answer from outside the fudge window may be a replay.
  if (Math.abs(Date.now() / 1000 - t.timeSigned) > t.fudge) {
    throw new InterchangeError('ICX_ACME_DNS_UPDATE_UNVERIFIED', `${where} sent an answer signed at ${new Date(t.timeSigned * 1000).toISOString()}, more than ${t.fudge} s from this host's clock.`, { details: { server: target.server, keyName: target.keyName } });
  }
  return { rcode, answers: sections[0], authorities: sections[1] };
}

const RCODE_HINTS: Record<string, string> = {
  NOTAUTH: 'the server does not accept the key: check the key name, algorithm and secret, and that the server is authoritative for the zone',
  REFUSED: 'the server does not allow this key to update the zone (allow-update or update-policy)',
  NOTZONE: 'the name is not in the zone',
  SERVFAIL: 'the server failed to apply it',
  FORMERR: 'the server could not read the message',
  NOTIMP: 'the server does not take dynamic updates',
};

function refused(rcode: number, target: DnsUpdateTarget, where: string, tsigError?: string): InterchangeError {
  const name = RCODES[rcode] ?? `RCODE ${rcode}`;
  const hint = tsigError === 'BADTIME' ? "this host's clock and the server's differ by more than 5 minutes" : (RCODE_HINTS[name] ?? 'see the server\'s log');
  return new InterchangeError('ICX_ACME_DNS_UPDATE_REFUSED', `${where} answered ${name}${tsigError ? ` (${tsigError})` : ''}: ${hint}.`, {
    details: { server: target.server, zone: target.zone, keyName: target.keyName, rcode: name, tsigError: tsigError ?? null },
  });
}

/** Sends one message over TCP (RFC 7766: two-byte length before each message) and returns the answer. */
function exchange(target: DnsUpdateTarget, message: Buffer, where: string): Promise<Buffer> {
  const { host, port } = parseServer(target.server);
  const timeoutMs = target.timeoutMs ?? 10_000;
  return new Promise<Buffer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    const socket = net.connect({ host, port });
    const fail = (e: InterchangeError) => {
      socket.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new InterchangeError('ICX_ACME_DNS_UPDATE_UNREACHABLE', `${where} did not answer within ${timeoutMs / 1000} s.`, { details: { server: target.server } })), timeoutMs);
    socket.on('connect', () => socket.write(Buffer.concat([u16(message.length), message])));
    socket.on('data', (d) => {
      received = Buffer.concat([received, d]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.end();
        resolve(received.subarray(2, 2 + received.readUInt16BE(0)));
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(new InterchangeError('ICX_ACME_DNS_UPDATE_UNREACHABLE', `${where} can't be reached: ${e.code ?? e.message}.`, { cause: e, details: { server: target.server, code: e.code ?? null } }));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      fail(new InterchangeError('ICX_ACME_DNS_UPDATE_UNREACHABLE', `${where} closed the connection without answering.`, { details: { server: target.server } }));
    });
  });
}

/** readResponse, with a message that can't be decoded reported as such rather than as dns-packet's exception. */
function readAnswer(buf: Buffer, id: number, requestMac: Buffer | null, target: DnsUpdateTarget, where: string): Response {
  try {
    return readResponse(buf, id, requestMac, target, where);
  } catch (e) {
    if (e instanceof InterchangeError) throw e;
    throw new InterchangeError('ICX_ACME_DNS_UPDATE_UNVERIFIED', `${where} sent an answer that can't be read as a DNS message (${(e as Error).message}).`, { cause: e, details: { server: target.server } });
  }
}

async function signedExchange(target: DnsUpdateTarget, m: Omit<Message, 'id'>, where: string): Promise<Response> {
  const id = crypto.randomInt(0, 0x10000);
  const { signed, mac } = sign(encodeMessage({ ...m, id }), target, new Date());
  return readAnswer(await exchange(target, signed, where), id, mac, target, where);
}

/** A query anyone may ask: where the answer only decides where signed updates go, a forged one gets them refused, nothing more. */
async function unsignedExchange(target: DnsUpdateTarget, m: Omit<Message, 'id'>, where: string): Promise<Response> {
  const id = crypto.randomInt(0, 0x10000);
  return readAnswer(await exchange(target, encodeMessage({ ...m, id }), where), id, null, target, where);
}

const fqdn = (n: string) => n.toLowerCase().replace(/\.$/, '');

/** Where a message goes, for the administrator: the server and key, never the secret. */
function describe(target: DnsUpdateTarget, zone?: string | null): string {
  return `The DNS update server ${target.server}${zone ? ` (zone ${zone}` : ' ('}${zone ? ', ' : ''}key ${target.keyName})`;
}

/**
 * The zone that holds `name` on the server: the configured one when it contains the name, or the owner of
 * the SOA record the server returns for the name (in the answer at an apex, in the authority section below it).
 */
export async function findZone(target: DnsUpdateTarget, name: string): Promise<string> {
  if (target.zone) {
    const zone = fqdn(target.zone);
    const n = fqdn(name);
    if (n !== zone && !n.endsWith(`.${zone}`)) {
      throw new InterchangeError('ICX_ACME_DNS_UPDATE_REFUSED', `${name} is not in the zone ${zone} that Set-AcmeAccount -DnsUpdateZone names: leave the zone out to let the server tell, or give the zone that holds ${name}.`, {
        details: { server: target.server, zone, keyName: target.keyName, rcode: 'NOTZONE', tsigError: null },
      });
    }
    return zone;
  }
  const where = describe(target);
  // Unsigned: the key is checked right after, by the update that changes nothing, which then names the zone.
  const r = await unsignedExchange(target, { opcode: OPCODE.QUERY, questions: [{ name, type: TYPE.SOA, klass: CLASS.IN }] }, `${where}, asked for the zone of ${name},`);
  if (r.rcode !== 0 && r.rcode !== 3) throw refused(r.rcode, target, `${where}, asked for the zone of ${name},`);
  const soa = [...r.answers, ...r.authorities].find((a) => a.type === TYPE.SOA);
  if (!soa) throw new InterchangeError('ICX_ACME_DNS_UPDATE_REFUSED', `${where} holds no zone for ${name} (no SOA record in its answer): give the zone with Set-AcmeAccount -DnsUpdateZone, or use the server that is primary for it.`, { details: { server: target.server, zone: null, keyName: target.keyName, rcode: 'NOTZONE', tsigError: null } });
  return fqdn(soa.name);
}

async function update(target: DnsUpdateTarget, zone: string, records: Buffer[], what: string): Promise<void> {
  const where = `${describe(target, zone)}, asked to ${what},`;
  // The zone goes with the target so that a refusal read from the TSIG error names it too.
  const r = await signedExchange({ ...target, zone }, { opcode: OPCODE.UPDATE, questions: [{ name: zone, type: TYPE.SOA, klass: CLASS.IN }], authorities: records }, where);
  if (r.rcode !== 0) throw refused(r.rcode, { ...target, zone }, where);
}

/**
 * Checks that the key may update the zone, changing nothing: an update with no records still goes through
 * the server's key and permission checks (RFC 2136 §3.3 comes before the update section is read).
 */
export async function checkUpdateAccess(target: DnsUpdateTarget, zone: string): Promise<void> {
  await update(target, zone, [], `accept an empty update`);
}

export async function addTxt(target: DnsUpdateTarget, zone: string, name: string, value: string, ttl = 60): Promise<void> {
  await update(target, zone, [record(name, TYPE.TXT, CLASS.IN, ttl, txtData(value))], `add a TXT record at ${name}`);
}

/** RFC 2136 §2.5.4: class NONE, TTL 0 deletes this one record and leaves others of the name (another challenge's). */
export async function deleteTxt(target: DnsUpdateTarget, zone: string, name: string, value: string): Promise<void> {
  await update(target, zone, [record(name, TYPE.TXT, CLASS.NONE, 0, txtData(value))], `delete the TXT record at ${name}`);
}

/** The TXT values the server itself answers for `name` (not a resolver's cache). */
export async function queryTxt(target: DnsUpdateTarget, name: string): Promise<string[]> {
  const where = `${describe(target)}, asked for the TXT records of ${name},`;
  const r = await signedExchange(target, { opcode: OPCODE.QUERY, questions: [{ name, type: TYPE.TXT, klass: CLASS.IN }] }, where);
  if (r.rcode === 3) return [];
  if (r.rcode !== 0) throw refused(r.rcode, target, where);
  return r.answers.filter((a) => a.type === TYPE.TXT).map((a) => (a.data as Buffer[]).map((b) => b.toString('utf8')).join(''));
}
