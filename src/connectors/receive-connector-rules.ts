import net from 'node:net';
import { formatTimeSpan } from '../cmdlets/framework/units.js';
import type { ReceiveConnectorRecord } from '../directory/records.js';
import { InterchangeError } from '../errors/interchange-error.js';

const invalid = (message: string, parameter?: string) => new InterchangeError('ICX_CONNECTOR_INVALID', message, { parameter });

/** `0.0.0.0:25`, `127.0.0.1:2525`, `[::]:25`, `[::1]:587`. */
export function parseBinding(text: string): { address: string; port: number } {
  const t = text.trim();
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(t) ?? /^([^:]+):(\d{1,5})$/.exec(t);
  if (!m || net.isIP(m[1]) === 0 || Number(m[2]) > 65535 || Number(m[2]) === 0) {
    throw invalid(`The binding "${text}" isn't valid. Use IPAddress:Port, for example 0.0.0.0:25 or [::]:25.`, 'Bindings');
  }
  return { address: m[1], port: Number(m[2]) };
}

export function formatBinding(b: { address: string; port: number }): string {
  return net.isIPv6(b.address) ? `[${b.address}]:${b.port}` : `${b.address}:${b.port}`;
}

/** A remote IP range: a single address, `a-b`, or CIDR. */
export interface IpRange {
  family: 4 | 6;
  start: bigint;
  end: bigint;
}

function ipToBigInt(ip: string): bigint {
  if (net.isIPv4(ip)) return ip.split('.').reduce((acc, part) => (acc << 8n) + BigInt(Number(part)), 0n);
  // Expand :: and an embedded IPv4 tail before reading eight 16-bit groups.
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipToBigInt(v4[1]);
    text = text.slice(0, -v4[1].length) + `${((n >> 16n) & 0xffffn).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

export function parseIpRange(text: string): IpRange {
  const t = text.trim();
  const bad = () => invalid(`The remote IP range "${text}" isn't valid. Use an address, a range such as 10.0.0.1-10.0.0.50, or CIDR such as 10.0.0.0/24.`, 'RemoteIPRanges');
  if (t.includes('/')) {
    const [ip, bitsText] = t.split('/');
    const family = net.isIP(ip);
    const bits = Number(bitsText);
    const width = family === 4 ? 32 : 128;
    if (!family || !/^\d+$/.test(bitsText) || bits > width) throw bad();
    const mask = ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - bits)) - 1n);
    const start = ipToBigInt(ip) & mask;
    return { family: family as 4 | 6, start, end: start | ((1n << BigInt(width - bits)) - 1n) };
  }
  if (t.includes('-')) {
    const [a, b] = t.split('-');
    const fa = net.isIP(a);
    if (!fa || fa !== net.isIP(b)) throw bad();
    const start = ipToBigInt(a);
    const end = ipToBigInt(b);
    if (end < start) throw bad();
    return { family: fa as 4 | 6, start, end };
  }
  const f = net.isIP(t);
  if (!f) throw bad();
  const v = ipToBigInt(t);
  return { family: f as 4 | 6, start: v, end: v };
}

/** Whether an address is inside a range; IPv4-mapped IPv6 addresses count as IPv4. */
export function ipInRange(ip: string, range: IpRange): boolean {
  const plain = ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  const family = net.isIP(plain);
  if (family !== range.family) return false;
  const v = ipToBigInt(plain);
  return v >= range.start && v <= range.end;
}

export function validateReceiveConnector(c: ReceiveConnectorRecord): void {
  if (c.bindings.length === 0) throw invalid('A Receive connector needs at least one binding (-Bindings).', 'Bindings');
  if (c.remoteIpRanges.length === 0) throw invalid('A Receive connector needs at least one remote IP range (-RemoteIPRanges).', 'RemoteIPRanges');
  const auth = new Set(c.authMechanism);
  if (auth.has('None') && auth.size > 1) throw invalid('The AuthMechanism value None cannot be combined with other values.', 'AuthMechanism');
  if (auth.has('BasicAuthRequireTLS') && !(auth.has('BasicAuth') && auth.has('Tls'))) {
    throw invalid('The BasicAuthRequireTLS authentication mechanism requires the BasicAuth and Tls mechanisms.', 'AuthMechanism');
  }
  if (auth.has('ExternalAuthoritative') && !(auth.has('Tls') && c.permissionGroups.includes('ExchangeServers'))) {
    throw invalid('The ExternalAuthoritative authentication mechanism requires Tls and the ExchangeServers permission group.', 'AuthMechanism');
  }
  if (c.requireTls && !auth.has('Tls')) throw invalid('RequireTLS can be set only when the AuthMechanism parameter includes Tls.', 'RequireTLS');
  if (c.maxMessageSize < 65536 || c.maxMessageSize > 2147483647) throw invalid('MaxMessageSize must be from 64 KB (65536 bytes) through 2147483647 bytes.', 'MaxMessageSize');
  if (c.name.length > 64) throw invalid('The connector name must be at most 64 characters long.', 'Name');
  validateReceiveConnectorLimits(c);
}

const DAY = 86_400_000;


function timeSpanInRange(value: number, min: number, max: number, parameter: string): void {
  if (value < min || value > max) {
    throw invalid(`The value of ${parameter} (${formatTimeSpan(Math.max(0, value))}${value < 0 ? ', negative' : ''}) must be from ${formatTimeSpan(min)} through ${formatTimeSpan(max)}.`, parameter);
  }
}

/** Exchange's ranges for the connection and protocol limits (Set-ReceiveConnector). */
function validateReceiveConnectorLimits(c: ReceiveConnectorRecord): void {
  timeSpanInRange(c.connectionTimeout, 1000, DAY, 'ConnectionTimeout');
  timeSpanInRange(c.connectionInactivityTimeout, 1000, DAY, 'ConnectionInactivityTimeout');
  if (c.connectionInactivityTimeout >= c.connectionTimeout) {
    throw invalid(
      `ConnectionInactivityTimeout (${formatTimeSpan(c.connectionInactivityTimeout)}) must be less than ConnectionTimeout (${formatTimeSpan(c.connectionTimeout)}): a session may not stay idle longer than it may last.`,
      'ConnectionInactivityTimeout',
    );
  }
  timeSpanInRange(c.tarpitInterval, 0, 600_000, 'TarpitInterval');
  timeSpanInRange(c.authTarpitInterval, 0, 600_000, 'AuthTarpitInterval');
  if (c.maxHeaderSize < 1 || c.maxHeaderSize > 2147483647) throw invalid('MaxHeaderSize must be from 1 byte through 2147483647 bytes.', 'MaxHeaderSize');
}

export interface BindingConflict {
  connector: ReceiveConnectorRecord;
  message: string;
}

/**
 * Exchange's uniqueness rule for the Receive connectors of one server: two
 * connectors may share a local address and port only if their
 * RemoteIPRanges differ (the listener then picks by the client's address),
 * and never across transport roles (each role is its own listener).
 */
export function bindingConflict(candidate: ReceiveConnectorRecord, serverConnectors: readonly ReceiveConnectorRecord[]): BindingConflict | undefined {
  const mine = candidate.bindings.map(parseBinding);
  const ranges = normalizedRanges(candidate.remoteIpRanges);
  for (const other of serverConnectors) {
    if (other.guid === candidate.guid || other.server.toLowerCase() !== candidate.server.toLowerCase()) continue;
    if (!other.bindings.map(parseBinding).some((b) => mine.some((m) => bindingsOverlap(m, b)))) continue;
    const identity = `${other.server}\\${other.name}`;
    if (other.transportRole !== candidate.transportRole) {
      return { connector: other, message: `The values that you specified for the Bindings and RemoteIPRanges parameters conflict with the settings on Receive connector "${identity}". Receive connectors assigned to different Transport roles on a single server must listen on unique local IP address & port bindings.` };
    }
    if (normalizedRanges(other.remoteIpRanges) === ranges) {
      return { connector: other, message: `The values that you specified for the Bindings and RemoteIPRanges parameters conflict with the settings on Receive connector "${identity}". Receive connectors assigned to the same server must have unique combinations of the Bindings and RemoteIPRanges parameter values.` };
    }
  }
  return undefined;
}

/** Same port, and the same address or a wildcard that covers the other (0.0.0.0 every IPv4 address; :: every address). */
export function bindingsOverlap(a: { address: string; port: number }, b: { address: string; port: number }): boolean {
  if (a.port !== b.port) return false;
  if (a.address === b.address || a.address === '::' || b.address === '::') return true;
  const v4 = (x: string) => !x.includes(':');
  return (a.address === '0.0.0.0' && v4(b.address)) || (b.address === '0.0.0.0' && v4(a.address));
}

function normalizedRanges(ranges: readonly string[]): string {
  return [...new Set(ranges.map((r) => r.trim().toLowerCase()))].sort().join(',');
}
