// The arguments of MAIL and RCPT: the path (RFC 5321 §4.1.2, with RFC 6531's
// UTF-8 additions) and the ESMTP parameters of the extensions we advertise.
// Pure: a command's argument in, the parsed values or the reply out. It runs
// once per command, never per byte of a message.
import { REPLY } from './replies.js';

/** The mailbox of a path, without its source route. */
export interface Mailbox {
  /** As the client sent it (a quoted local part stays quoted): this is what the next hop gets. */
  address: string;
  /** Characters outside ASCII: allowed only in an SMTPUTF8 transaction (RFC 6531 §3.3). */
  nonAscii: boolean;
}

export type Role = 'sender' | 'recipient';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reply: string };

export interface MailArgument {
  /** undefined for the null reverse path `<>`. */
  mailbox: Mailbox | undefined;
  /** The text after the path: the parameters, untouched. */
  parameters: string;
}

/** RFC 5321 §4.5.3.1: the sizes every server must accept, and may refuse beyond. */
export const LOCAL_PART_MAX = 64;
export const DOMAIN_MAX = 255;
/** Including the angle brackets and any source route. */
export const PATH_MAX = 256;

/**
 * The longest MAIL and RCPT lines we accept, in octets with CRLF: RFC 5321
 * §4.5.3.1.4 gives a command line 512 octets and lets each extension a
 * server advertises raise it by what its parameters need: SIZE (RFC 1870 §7,
 * 26), RET and ENVID (RFC 3461 §4, 100), AUTH= (RFC 4954 §5, 500), BODY=8BITMIME
 * (RFC 6152, 14) and SMTPUTF8 (9) on MAIL; NOTIFY and ORCPT (RFC 3461 §4, 500)
 * on RCPT. Every other command line has the plain 512 (AUTH has its own
 * 12288 for the SASL exchange, RFC 4954 §4, which the session applies).
 */
export const COMMAND_LINE_MAX = 512;
export const MAIL_LINE_MAX = COMMAND_LINE_MAX + 26 + 100 + 500 + 14 + 9;
export const RCPT_LINE_MAX = COMMAND_LINE_MAX + 500;

/** Exchange's replies to a bad address (5.1.7 for the sender, 5.1.3 for a recipient), naming the problem. */
export function invalidAddress(role: Role, problem?: string): string {
  return `501 ${role === 'sender' ? '5.1.7' : '5.1.3'} Invalid address${problem ? `: ${problem}` : ''}`;
}

/** RFC 6531's reply (553 5.6.7) to a non-ASCII address in a transaction whose MAIL did not say SMTPUTF8. */
export function nonAsciiWithoutSmtpUtf8(role: Role): string {
  return `553 5.6.7 Non-ASCII ${role} address not permitted without the SMTPUTF8 parameter on MAIL FROM`;
}

export const NOT_UTF8 = (role: Role): string => invalidAddress(role, 'not valid UTF-8');

/** `FROM:<reverse-path>[ parameters]`; a space after the colon is tolerated (common, harmless). */
export function parseMailArgument(arg: string): Parsed<MailArgument> {
  return parseArgument(arg, 'FROM:', 'sender');
}

/** `TO:<forward-path>[ parameters]`. */
export function parseRcptArgument(arg: string): Parsed<MailArgument & { mailbox: Mailbox }> {
  const r = parseArgument(arg, 'TO:', 'recipient');
  if (r.ok && r.value.mailbox === undefined) return { ok: false, reply: invalidAddress('recipient', 'a recipient cannot be empty') };
  return r as Parsed<MailArgument & { mailbox: Mailbox }>;
}

const SYNTAX = REPLY.syntaxMail;

function parseArgument(arg: string, keyword: string, role: Role): Parsed<MailArgument> {
  if (arg.length < keyword.length || arg.slice(0, keyword.length).toUpperCase() !== keyword) return { ok: false, reply: SYNTAX };
  let i = keyword.length;
  while (arg.charCodeAt(i) === 0x20) i++;
  if (arg.charCodeAt(i) !== 0x3c /* < */) return { ok: false, reply: SYNTAX };
  const start = i;
  const path = scanPath(arg, i + 1, role);
  if (!path.ok) return path;
  const end = path.value.end;
  const octets = path.value.mailbox?.nonAscii ? Buffer.byteLength(arg.slice(start, end), 'utf8') : end - start;
  if (octets > PATH_MAX) return { ok: false, reply: invalidAddress(role, `the path is longer than ${PATH_MAX} octets`) };
  const rest = arg.slice(end);
  if (rest.length > 0 && rest.charCodeAt(0) !== 0x20) return { ok: false, reply: invalidAddress(role) };
  return { ok: true, value: { mailbox: path.value.mailbox, parameters: rest } };
}

/** From just after `<` to just after `>`. */
function scanPath(s: string, from: number, role: Role): Parsed<{ mailbox: Mailbox | undefined; end: number }> {
  const bad = (problem?: string): Parsed<never> => ({ ok: false, reply: invalidAddress(role, problem) });
  let i = from;
  if (s.charCodeAt(i) === 0x3e /* > */) return { ok: true, value: { mailbox: undefined, end: i + 1 } };
  // A source route (`@relay1,@relay2:`) is accepted and ignored, as RFC 5321 §4.1.1.3 and Appendix C tell a server to do.
  if (s.charCodeAt(i) === 0x40 /* @ */) {
    for (;;) {
      const d = scanDomain(s, i + 1);
      if (d.end === i + 1 || d.problem) return bad(d.problem);
      i = d.end;
      if (s.charCodeAt(i) === 0x2c /* , */ && s.charCodeAt(i + 1) === 0x40) {
        i++;
        continue;
      }
      if (s.charCodeAt(i) !== 0x3a /* : */) return bad();
      i++;
      break;
    }
  }
  const mailboxStart = i;
  const local = s.charCodeAt(i) === 0x22 /* " */ ? scanQuotedString(s, i) : scanDotString(s, i);
  if (local.problem) return bad(local.problem);
  if (local.end === i || s.charCodeAt(local.end) !== 0x40) return bad(controlIn(s, i) ? CONTROL : undefined);
  const localOctets = local.nonAscii ? Buffer.byteLength(s.slice(i, local.end), 'utf8') : local.end - i;
  if (localOctets > LOCAL_PART_MAX) return bad(`the local part is longer than ${LOCAL_PART_MAX} octets`);
  const domainStart = local.end + 1;
  const domain = s.charCodeAt(domainStart) === 0x5b /* [ */ ? scanAddressLiteral(s, domainStart) : scanDomain(s, domainStart);
  if (domain.problem) return bad(domain.problem);
  if (domain.end === domainStart || s.charCodeAt(domain.end) !== 0x3e) return bad(controlIn(s, domainStart) ? CONTROL : undefined);
  const domainOctets = domain.nonAscii ? Buffer.byteLength(s.slice(domainStart, domain.end), 'utf8') : domain.end - domainStart;
  if (domainOctets > DOMAIN_MAX) return bad(`the domain is longer than ${DOMAIN_MAX} octets`);
  return { ok: true, value: { mailbox: { address: s.slice(mailboxStart, domain.end), nonAscii: local.nonAscii || domain.nonAscii }, end: domain.end + 1 } };
}

interface Scan {
  end: number;
  nonAscii: boolean;
  problem?: string;
}

const CONTROL = 'NUL or control characters are not allowed';

/**
 * NUL, C0 controls and DEL: never part of an address (RFC 5321 §4.1.2). C1 controls too, although
 * UTF8-non-ascii (RFC 6532 §3.1) would admit them: no address needs one, and a log or header shows them as controls.
 */
function isControl(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

function controlIn(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3e) return false;
    if (isControl(c)) return true;
  }
  return false;
}

/** ASCII classes by code: 1 atext (RFC 5322), 2 also Let-dig (RFC 5321). */
const ASCII_CLASS = (() => {
  const t = new Uint8Array(128);
  for (const c of "!#$%&'*+-/=?^_`{|}~") t[c.charCodeAt(0)] = 1;
  for (let c = 0x30; c <= 0x39; c++) t[c] = 3;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = t[c + 0x20] = 3;
  return t;
})();

/** RFC 5322 atext, and any non-ASCII character but C1 controls (RFC 6531 §3.3 extends atext with UTF8-non-ascii). */
function isAtext(c: number): boolean {
  return c < 0x80 ? ASCII_CLASS[c] !== 0 : c > 0x9f;
}

/** Dot-string = Atom *("." Atom) */
function scanDotString(s: string, from: number): Scan {
  let i = from;
  let nonAscii = false;
  let atomStart = i;
  for (;;) {
    const c = s.charCodeAt(i);
    if (i < s.length && isAtext(c)) {
      if (c > 0x7f) nonAscii = true;
      i++;
      continue;
    }
    if (i < s.length && isControl(c)) return { end: i, nonAscii, problem: CONTROL };
    if (i === atomStart) return { end: from, nonAscii };
    if (c !== 0x2e /* . */) return { end: i, nonAscii };
    i++;
    atomStart = i;
  }
}

/** Quoted-string = DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE; the quotes are kept. */
function scanQuotedString(s: string, from: number): Scan {
  let nonAscii = false;
  for (let i = from + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isControl(c)) return { end: i, nonAscii, problem: CONTROL };
    if (c === 0x22) return { end: i + 1, nonAscii };
    if (c > 0x7f) nonAscii = true;
    if (c === 0x5c /* \ */) {
      const n = s.charCodeAt(i + 1);
      // quoted-pairSMTP = "\" %d32-126 (RFC 5321 §4.1.2)
      if (!(n >= 0x20 && n <= 0x7e)) return { end: i, nonAscii, problem: i + 1 < s.length && isControl(n) ? CONTROL : 'bad quoted pair' };
      i++;
    }
  }
  return { end: from, nonAscii, problem: 'unterminated quoted local part' };
}

/** Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str] / U-label (RFC 6531). */
function scanDomain(s: string, from: number): Scan {
  let i = from;
  let nonAscii = false;
  for (;;) {
    const labelStart = i;
    let last = 0;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c < 0x80 ? (ASCII_CLASS[c] & 2) !== 0 : c > 0x9f) {
        if (c > 0x7f) nonAscii = true;
      } else if (c === 0x2d /* - */) {
        if (i === labelStart) return { end: from, nonAscii };
      } else if (isControl(c)) {
        return { end: i, nonAscii, problem: CONTROL };
      } else break;
      last = c;
      i++;
    }
    if (i === labelStart || last === 0x2d) return { end: from, nonAscii };
    if (i - labelStart > 63 && !nonAscii) return { end: from, nonAscii, problem: 'a domain label is longer than 63 octets' };
    if (s.charCodeAt(i) !== 0x2e) return { end: i, nonAscii };
    i++;
  }
}

/** `[1.2.3.4]`, `[IPv6:…]` or a General-address-literal `[tag:dcontent]` (RFC 5321 §4.1.3). */
function scanAddressLiteral(s: string, from: number): Scan {
  const close = s.indexOf(']', from);
  if (close < 0) return { end: from, nonAscii: false };
  const body = s.slice(from + 1, close);
  for (let i = 0; i < body.length; i++) if (isControl(body.charCodeAt(i))) return { end: from, nonAscii: false, problem: CONTROL };
  const ok = isIPv4Literal(body) || (/^IPv6:/i.test(body) ? isIPv6Literal(body.slice(5)) : /^[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+$/.test(body));
  return ok ? { end: close + 1, nonAscii: false } : { end: from, nonAscii: false };
}

function isIPv4Literal(t: string): boolean {
  const parts = t.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** RFC 5321 IPv6-addr: full, compressed (`::`) and with an IPv4 tail. */
function isIPv6Literal(t: string): boolean {
  let groups = t;
  let max = 8;
  const v4 = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(t);
  if (v4) {
    if (!isIPv4Literal(v4[2])) return false;
    groups = v4[1].endsWith('::') ? v4[1] : v4[1].slice(0, -1);
    max = 6;
  }
  const hex = /^[0-9A-Fa-f]{1,4}$/;
  const halves = groups.split('::');
  if (halves.length > 2) return false;
  const count = (h: string): number | undefined => (h === '' ? 0 : h.split(':').every((g) => hex.test(g)) ? h.split(':').length : undefined);
  const a = count(halves[0]);
  if (a === undefined) return false;
  if (halves.length === 1) return a === max;
  const b = count(halves[1]);
  return b !== undefined && a + b <= max - 1;
}

// ---- ESMTP parameters ---------------------------------------------------

/** The MAIL parameters of the extensions we advertise. */
export interface MailParameters {
  size?: number;
  /** RFC 6152; 7BIT when absent. */
  body?: '7BIT' | '8BITMIME';
  smtpUtf8: boolean;
  /** RFC 3461; accepted with their syntax checked, not yet honoured in our DSNs. */
  ret?: 'FULL' | 'HDRS';
  envid?: string;
}

export interface RcptParameters {
  /** RFC 3461; accepted with their syntax checked, not yet honoured in our DSNs. */
  notify?: string[];
  orcpt?: string;
}

/*
 * An unknown parameter or value gets 501 5.5.4: the reply class Exchange uses
 * for bad MAIL/RCPT arguments ("501 5.5.4 Invalid arguments"). RFC 5321
 * §4.1.1.11 also allows 555 for unrecognized parameters, which Postfix sends;
 * a client treats both as a permanent refusal of the command, and 501 with
 * the parameter named tells the sender's administrator more.
 */
const unknownParameter = (name: string): string => `501 5.5.4 Unrecognized parameter ${name}`;
const badValue = (name: string, problem: string): string => `501 5.5.4 Invalid ${name} parameter: ${problem}`;

/** esmtp-keyword ["=" esmtp-value] (RFC 5321 §4.1.2); values may hold UTF-8 in an SMTPUTF8 session (RFC 6531 §3.3). */
const PARAM = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:=([^\x00-\x20=\x7f-\x9f]+))?$/;

/** xtext (RFC 3461 §4): "!" to "~" except "+" and "=", or "+" and two upper-case hex digits. */
const XTEXT = /^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})+$/;

function splitParameters(text: string): Parsed<Array<{ name: string; value: string | undefined }>> {
  const out: Array<{ name: string; value: string | undefined }> = [];
  const seen = new Set<string>();
  for (const word of text.split(' ')) {
    if (word === '') continue;
    const m = PARAM.exec(word);
    if (!m) return { ok: false, reply: SYNTAX };
    const name = m[1].toUpperCase();
    if (seen.has(name)) return { ok: false, reply: `501 5.5.4 Parameter ${name} given twice` };
    seen.add(name);
    out.push({ name, value: m[2] });
  }
  return { ok: true, value: out };
}

/** `authOffered`: AUTH= (RFC 4954 §5) only when the session advertised AUTH; its value is checked and ignored (our own AUTH decides who sent it). */
export function parseMailParameters(text: string, opts: { authOffered: boolean }): Parsed<MailParameters> {
  const split = splitParameters(text);
  if (!split.ok) return split;
  const out: MailParameters = { smtpUtf8: false };
  for (const { name, value } of split.value) {
    switch (name) {
      case 'SIZE':
        if (value === undefined || !/^\d{1,20}$/.test(value)) return { ok: false, reply: badValue('SIZE', 'not a number') };
        out.size = Number(value);
        break;
      case 'BODY': {
        const v = value?.toUpperCase();
        if (v !== '7BIT' && v !== '8BITMIME') return { ok: false, reply: badValue('BODY', `${value ?? ''} is not 7BIT or 8BITMIME`) };
        out.body = v;
        break;
      }
      case 'SMTPUTF8':
        if (value !== undefined) return { ok: false, reply: badValue('SMTPUTF8', 'takes no value') };
        out.smtpUtf8 = true;
        break;
      case 'RET': {
        const v = value?.toUpperCase();
        if (v !== 'FULL' && v !== 'HDRS') return { ok: false, reply: badValue('RET', 'not FULL or HDRS') };
        out.ret = v;
        break;
      }
      case 'ENVID':
        if (value === undefined || value.length > 100 || !XTEXT.test(value)) return { ok: false, reply: badValue('ENVID', 'not xtext of at most 100 characters') };
        out.envid = value;
        break;
      case 'AUTH':
        if (!opts.authOffered) return { ok: false, reply: unknownParameter(name) };
        if (value === undefined || (value !== '<>' && !XTEXT.test(value))) return { ok: false, reply: badValue('AUTH', 'not xtext or <>') };
        break;
      default:
        return { ok: false, reply: unknownParameter(name) };
    }
  }
  return { ok: true, value: out };
}

const NOTIFY_VALUES: ReadonlySet<string> = new Set(['SUCCESS', 'FAILURE', 'DELAY']);

export function parseRcptParameters(text: string): Parsed<RcptParameters> {
  const split = splitParameters(text);
  if (!split.ok) return split;
  const out: RcptParameters = {};
  for (const { name, value } of split.value) {
    switch (name) {
      case 'NOTIFY': {
        const list = (value ?? '').toUpperCase().split(',');
        // NEVER alone, or any of SUCCESS, FAILURE, DELAY, each once (RFC 3461 §4.1).
        const ok = list.length === 1 && list[0] === 'NEVER' ? true : list.every((v) => NOTIFY_VALUES.has(v)) && new Set(list).size === list.length;
        if (!ok) return { ok: false, reply: badValue('NOTIFY', 'not NEVER or a list of SUCCESS, FAILURE, DELAY') };
        out.notify = list;
        break;
      }
      case 'ORCPT': {
        // addr-type ";" xtext (RFC 3461 §4.2), at most 500 characters; RFC 6533 adds the utf-8 type.
        const m = value === undefined ? null : /^([A-Za-z0-9][A-Za-z0-9-]*);(.+)$/.exec(value);
        if (!m || value!.length > 500 || !(XTEXT.test(m[2]) || (m[1].toLowerCase() === 'utf-8' && !/[\x00-\x20\x7f-\x9f]/.test(m[2])))) return { ok: false, reply: badValue('ORCPT', 'not addr-type;xtext of at most 500 characters') };
        out.orcpt = value;
        break;
      }
      default:
        return { ok: false, reply: unknownParameter(name) };
    }
  }
  return { ok: true, value: out };
}
