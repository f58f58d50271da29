#!/usr/bin/env node
// Configuration reload at scale (issue 11): a fresh Interchange server (its own
// process, from dist/) whose directory then gets 100 more server records and
// 10,000 Send connectors sourced on it, written straight through the directory
// store in one transaction. Meanwhile a client connects again and again and
// times each SMTP greeting (connect to 220), so a reload that holds the event
// loop shows as a late greeting. Measures
//   apply     time from a committed change (a Receive connector's Banner, with one
//             Send connector edited in the same transaction) to the first greeting
//             that shows it: the poll, the directory read and the rebuild
//   greeting  the slowest greeting while the transport reloads
//   rss       the server's resident memory: after start, at its peak, with 10,000
//             connectors, and after they are cut back to 100
// and prints one summary line. Not a test: nothing here asserts a time.
// The quiet line: the slowest greeting over 3 s with no change, this host's floor.
//   --connectors N (10000)  --servers N (100)  --changes N (5)  --port P (0: a free one)
//   --pace MS (0)  the least time from one probe's connect to the next one's. 0 connects back to back,
//                  which keeps both of a 2-core host's cores busy (prober and server), so the quiet line
//                  then measures the host's scheduling more than the server; 2 (500 greetings/s at most)
//                  leaves the host room, so a late greeting is the server's own.
//   BENCH_NODE_OPTIONS  extra node options for the server (e.g. --cpu-prof --cpu-prof-dir=DIR)
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CONNECTORS = arg('connectors', 10_000);
const SERVERS = arg('servers', 100);
const CHANGES = arg('changes', 5);
const PACE = arg('pace', 0);

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

const { openDirectory } = await import(path.join(REPO, 'dist/directory/open-directory.js'));

const data = mkdtempSync(path.join(os.tmpdir(), 'icx-bench-connectors-'));
const smtpPort = arg('port', 0) || (await freePort());
const adminPort = await freePort();
const nodeOptions = (process.env.BENCH_NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
const child = spawn(process.execPath, [...nodeOptions, path.join(REPO, 'bin/interchange.js'), 'serve', '--data', data, '--server', 'EX01', '--fqdn', 'ex01.bench.invalid', '--smtp-port', String(smtpPort), '--admin-port', String(adminPort)], {
  env: { ...process.env, INTERCHANGE_LOG_LEVEL: process.env.INTERCHANGE_LOG_LEVEL ?? 'warn', INTERCHANGE_STOP_GRACE_MS: '500' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
let directory;
const cleanup = async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  await directory?.close().catch(() => undefined);
  rmSync(data, { recursive: true, force: true });
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

const rssMiB = () => {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]);
    return kb / 1024;
  } catch {
    return NaN;
  }
};
let peakRss = 0;
const rssSampler = setInterval(() => (peakRss = Math.max(peakRss, rssMiB())), 100);

// The prober runs on its own thread: the directory writes below block this one (SQLite is synchronous),
// and only the server's delays may count. It connects back to back for the whole run and posts every
// greeting: when it ended (ms since the epoch), how long it took from connect() to the whole 220 line, the line.
const prober = new Worker(
  `const net = require('node:net');
  const { parentPort, workerData } = require('node:worker_threads');
  let probing = true;
  parentPort.on('message', () => (probing = false));
  const greet = () => new Promise((resolve) => {
    const started = performance.now();
    const s = net.connect(workerData.port, '127.0.0.1');
    let buf = '';
    const done = (line) => { s.destroy(); resolve({ ms: performance.now() - started, line, at: performance.timeOrigin + performance.now() }); };
    s.setTimeout(60000, () => done(undefined));
    s.on('error', () => done(undefined));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\\r\\n');
      if (end >= 0) { s.write('QUIT\\r\\n'); done(buf.slice(0, end)); }
    });
  });
  (async () => {
    while (probing) {
      const started = performance.now();
      const g = await greet();
      if (g.line === undefined) await new Promise((r) => setTimeout(r, 20));
      else parentPort.postMessage(g);
      const rest = workerData.pace - (performance.now() - started);
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    }
    parentPort.close();
  })();`,
  { eval: true, workerData: { port: smtpPort, pace: PACE } },
);
const now = () => performance.timeOrigin + performance.now();
/** Every greeting so far: [ended at, ms]. */
const greetings = [];
let lastBanner = '';
const listeners = new Set();
prober.on('message', (g) => {
  greetings.push([g.at, g.ms]);
  lastBanner = g.line;
  for (const l of listeners) l(g);
});
const slowestSince = (t) => greetings.reduce((max, [at, ms]) => (at >= t ? Math.max(max, ms) : max), 0);
const bannerSeen = (text) =>
  new Promise((resolve) => {
    const l = (g) => {
      if (g.line.includes(text)) {
        listeners.delete(l);
        resolve(g.at);
      }
    };
    listeners.add(l);
  });

try {
  for (let i = 0; i < 300 && !lastBanner; i++) await sleep(100);
  if (!lastBanner) throw new Error('the server never greeted');
  const rssStart = rssMiB();
  // The first connector through the cmdlet (every default filled in as New-SendConnector does), the rest copied from it.
  const token = readFileSync(path.join(data, 'admin-token'), 'utf8').trim();
  const created = await fetch(`http://127.0.0.1:${adminPort}/api/v1/cmdlets/New-SendConnector`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ parameters: { Name: 'Bench send 00000', AddressSpaces: ['d0.bench.invalid'], SmartHosts: ['127.0.0.9'], DNSRoutingEnabled: false }, confirmed: true }),
  }).then((r) => r.json());
  if (!created.ok) throw new Error(`New-SendConnector failed: ${JSON.stringify(created)}`);
  directory = await openDirectory({ dataDir: data });
  const [template] = await directory.listSendConnectors();
  const ex01 = await directory.getServer('EX01');
  const frontend = (await directory.listReceiveConnectors('EX01')).find((c) => /^Default Frontend/.test(c.name));
  if (!frontend) throw new Error('no Default Frontend connector');

  /** One transaction: the Banner says which change this is, so the first greeting showing it marks the change applied. */
  const change = async (label, work) => {
    const mark = `bench-${label}-${randomUUID().slice(0, 8)}`;
    const began = now();
    const seen = bannerSeen(mark);
    const committed = await directory.exclusive(async (tx) => {
      await work?.(tx);
      const current = (await tx.listReceiveConnectors('EX01')).find((c) => c.guid === frontend.guid);
      await tx.updateReceiveConnector({ ...current, banner: `220 ${mark}` });
      return now();
    });
    const seenAt = await seen;
    // The reload may go on after the banner shows (the Send connectors come after the Receive ones): let it finish.
    await sleep(1500);
    return { applyMs: seenAt - committed, greetingMaxMs: slowestSince(began) };
  };

  const sendConnector = (i) => ({
    ...template,
    guid: randomUUID(),
    name: `Bench send ${String(i).padStart(5, '0')}`,
    addressSpaces: [{ type: 'SMTP', address: `d${i}.bench.invalid`, cost: 1 }],
    smartHosts: ['127.0.0.9'],
    dnsRoutingEnabled: false,
    sourceTransportServers: ['EX01', `BENCH${String(i % SERVERS).padStart(3, '0')}`],
  });

  const bulk = await change('bulk', async (tx) => {
    for (let i = 0; i < SERVERS; i++) {
      const name = `BENCH${String(i).padStart(3, '0')}`;
      await tx.insertServer({ ...ex01, guid: randomUUID(), name, fqdn: `${name.toLowerCase()}.bench.invalid` });
    }
    for (let i = 1; i < CONNECTORS; i++) await tx.insertSendConnector(sendConnector(i));
  });
  const rssFull = rssMiB();
  const quietFrom = now();
  await sleep(3000);
  const quietMax = slowestSince(quietFrom);

  const changes = [];
  for (let n = 0; n < CHANGES; n++) {
    changes.push(
      await change(`edit${n}`, async (tx) => {
        const all = await tx.listSendConnectors();
        const one = all[(n * 997) % all.length];
        await tx.updateSendConnector({ ...one, maxMessageSize: 10_000_000 + n });
      }),
    );
  }

  const cut = await change('cut', async (tx) => {
    const all = await tx.listSendConnectors();
    for (const c of all.slice(100)) await tx.deleteSendConnector(c.guid);
  });
  await sleep(3000);
  const rssCut = rssMiB();

  const applies = changes.map((c) => c.applyMs).sort((a, b) => a - b);
  const f = (x) => (Number.isFinite(x) ? Math.round(x) : 'NaN');
  console.log(
    [
      `connectors=${CONNECTORS}`,
      `servers=${SERVERS + 1}`,
      `pace_ms=${PACE}`,
      `bulk_apply_ms=${f(bulk.applyMs)}`,
      `bulk_greeting_max_ms=${f(bulk.greetingMaxMs)}`,
      `quiet_greeting_max_ms=${f(quietMax)}`,
      `change_apply_ms_median=${f(applies[Math.floor(applies.length / 2)])}`,
      `change_apply_ms_max=${f(applies.at(-1))}`,
      `change_greeting_max_ms=${f(Math.max(...changes.map((c) => c.greetingMaxMs)))}`,
      `cut_apply_ms=${f(cut.applyMs)}`,
      `cut_greeting_max_ms=${f(cut.greetingMaxMs)}`,
      `greetings=${greetings.length}`,
      `rss_start_mib=${f(rssStart)}`,
      `rss_full_mib=${f(rssFull)}`,
      `rss_peak_mib=${f(peakRss)}`,
      `rss_after_cut_mib=${f(rssCut)}`,
    ].join(' '),
  );
} finally {
  prober.postMessage('stop');
  await new Promise((r) => prober.once('exit', r));
  clearInterval(rssSampler);
  await cleanup();
}
