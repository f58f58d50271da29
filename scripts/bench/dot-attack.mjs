// The hostile cell's attacker (scripts/bench.sh): SESSIONS concurrent SMTP
// sessions, each sending messages made of ".." lines (dot-stuffed on the wire:
// every line is "...\r\n") of SIZE bytes, one connection per message, from a
// loopback address of its own (--bind), so the relay's per-source connection
// limit (MaxInboundConnectionPerSource, 20) counts it apart from smtp-source.
//
// Bounded in count and time: each session sends at most --rounds messages, the
// attack starts once --start-when exists and stops by itself (closing what is in
// flight) at the first of: every round sent, a --stop-when file with content
// (the harness's monitor.out, written when the ordinary load is delivered; the
// option may be given more than once), or --deadline seconds. It never spawns anything; one 64 KiB buffer is reused.
//
// With --sink-out (the sink's counter file) it also counts what the sink
// received while the attack ran: the ordinary mail's rate during the attack
// (the attack's own mail is routed elsewhere by the relay, so it is not counted).
//
// Prints one line: attack_sessions= attack_size= attack_messages= attack_250=
// attack_452=(452 4.3.1) attack_other= attack_cut= attack_errors= attack_seconds=
// attack_mib_sent= ordinary_in_attack= ordinary_in_attack_msgs_per_s= attack_cpu_s= attack_first_reply=
import fs from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    bind: { type: 'string', default: '127.0.0.2' },
    sessions: { type: 'string', default: '10' },
    size: { type: 'string', default: String(34 * 1024 * 1024) },
    rounds: { type: 'string', default: '3' },
    deadline: { type: 'string', default: '600' },
    'start-when': { type: 'string' },
    'stop-when': { type: 'string', multiple: true, default: [] },
    'sink-out': { type: 'string' },
    rcpt: { type: 'string', default: 'victim@attack.bench.invalid' },
  },
});
const int = (name) => {
  const n = Number(o[name]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`dot-attack: --${name} must be a positive integer, not '${o[name]}'`);
  return n;
};
const port = int('port');
const sessions = int('sessions');
const size = int('size');
const rounds = int('rounds');
const deadlineAt = Date.now() + int('deadline') * 1000;
for (const a of [o.host, o.bind]) if (!/^127\.\d+\.\d+\.\d+$/.test(a)) throw new Error(`dot-attack: loopback only, not ${a}`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hasContent = (f) => {
  try {
    return fs.statSync(f).size > 0;
  } catch {
    return false;
  }
};
const exists = (f) => fs.existsSync(f);
/** The last `mesg=N` of smtp-sink's -c counter output. */
const sinkCount = () => {
  if (!o['sink-out']) return NaN;
  try {
    const fd = fs.openSync(o['sink-out'], 'r');
    const len = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(200, len));
    fs.readSync(fd, buf, 0, buf.length, len - buf.length);
    fs.closeSync(fd);
    const all = [...buf.toString('latin1').matchAll(/mesg=(\d+)\r/g)];
    return all.length ? Number(all[all.length - 1][1]) : 0;
  } catch {
    return NaN;
  }
};

let stopping = false;
// A parent that went away (an interrupted bench) leaves no attacker behind either.
const parent = process.ppid;
const stopNow = () => stopping || Date.now() >= deadlineAt || process.ppid !== parent || o['stop-when'].some(hasContent);

const counts = { messages: 0, r250: 0, r452: 0, other: 0, cut: 0, errors: 0 };
let sent = 0;
let firstReply = '';
const sockets = new Set();

/** 64 KiB of lines that are one dot each, stuffed: "..\r\n". */
const LINES = Buffer.from('..\r\n'.repeat(16384), 'latin1');
const header = (n) =>
  Buffer.from(`From: <attacker@bench.invalid>\r\nTo: <${o.rcpt}>\r\nSubject: dot lines ${n}\r\nMessage-ID: <dot-attack-${process.pid}-${n}@bench.invalid>\r\n\r\n`, 'latin1');

/** One SMTP session sending one message; resolves with the final reply's code, or 'cut'/'error'. */
async function oneMessage(n) {
  const socket = net.connect({ host: o.host, port, localAddress: o.bind });
  sockets.add(socket);
  let buf = '';
  let dataWaiter;
  let drainWaiter;
  let failure;
  socket.setNoDelay(true);
  socket.on('data', (d) => {
    buf += d.toString('latin1');
    dataWaiter?.();
  });
  socket.on('drain', () => drainWaiter?.());
  const fail = (e) => {
    failure ??= e;
    dataWaiter?.();
    drainWaiter?.();
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('closed')));
  const reply = async () => {
    for (;;) {
      // A reply is complete at a line "NNN text" (not "NNN-text").
      const m = /(?:^|\n)(\d{3}) [^\n]*\n/.exec(buf);
      if (m) {
        buf = buf.slice(m.index + m[0].length);
        return { code: m[1], line: m[0].trim() };
      }
      if (failure) throw failure;
      await new Promise((r) => (dataWaiter = r));
      dataWaiter = undefined;
    }
  };
  const send = async (b) => {
    if (failure) throw failure;
    if (socket.write(b)) return;
    await new Promise((r) => (drainWaiter = r));
    drainWaiter = undefined;
    if (failure) throw failure;
  };
  try {
    for (const [cmd, want] of [[null, '220'], ['EHLO attacker.bench.invalid', '250'], ['MAIL FROM:<attacker@bench.invalid>', '250'], [`RCPT TO:<${o.rcpt}>`, '250'], ['DATA', '354']]) {
      if (cmd) await send(`${cmd}\r\n`);
      const r = await reply();
      if (r.code !== want) return r;
    }
    const head = header(n);
    await send(head);
    let left = Math.floor((size - head.length) / 4) * 4;
    while (left > 0) {
      if (stopNow()) return 'cut';
      const chunk = left >= LINES.length ? LINES : LINES.subarray(0, left);
      await send(chunk);
      sent += chunk.length;
      left -= chunk.length;
    }
    await send('.\r\n');
    const r = await reply();
    await send('QUIT\r\n').catch(() => {});
    return r;
  } catch {
    return stopNow() ? 'cut' : 'error';
  } finally {
    socket.destroy();
    sockets.delete(socket);
  }
}

async function session(s) {
  for (let i = 0; i < rounds && !stopNow(); i++) {
    const r = await oneMessage(s * rounds + i);
    if (r === 'cut') counts.cut++;
    else if (r === 'error') counts.errors++;
    else {
      counts.messages++;
      if (r.code === '250') counts.r250++;
      else if (r.line.startsWith('452 4.3.1')) counts.r452++;
      else {
        counts.other++;
        firstReply ||= r.line;
      }
    }
  }
}

if (o['start-when']) while (!exists(o['start-when']) && !stopNow()) await sleep(20);
const sink0 = sinkCount();
const t0 = Date.now();
const cpu0 = process.cpuUsage();
// The stop file or the deadline also ends messages in flight: a watcher closes their sockets.
const watcher = setInterval(() => {
  if (!stopNow()) return;
  stopping = true;
  for (const s of sockets) s.destroy();
}, 100);
await Promise.all(Array.from({ length: sessions }, (_, s) => session(s)));
clearInterval(watcher);
const seconds = (Date.now() - t0) / 1000;
const ordinary = sinkCount() - sink0;
const cpu = process.cpuUsage(cpu0);
const f = (x, d) => (Number.isFinite(x) ? x.toFixed(d) : 'NA');
console.log(
  [
    `attack_sessions=${sessions} attack_size=${size} attack_rounds=${rounds} attack_messages=${counts.messages}`,
    `attack_250=${counts.r250} attack_452=${counts.r452} attack_other=${counts.other} attack_cut=${counts.cut} attack_errors=${counts.errors}`,
    `attack_seconds=${f(seconds, 3)} attack_mib_sent=${f(sent / 2 ** 20, 1)} ordinary_in_attack=${f(ordinary, 0)}`,
    `ordinary_in_attack_msgs_per_s=${f(ordinary / seconds, 1)} attack_cpu_s=${f((cpu.user + cpu.system) / 1e6, 2)}`,
    ...(firstReply ? [`attack_first_other=${JSON.stringify(firstReply).replace(/ /g, '_')}`] : []),
  ].join(' '),
);
