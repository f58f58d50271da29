// A private Postfix instance as a next hop for tests: its own config, queue and
// data directories in a temp folder, `master -d` in the foreground in its own
// process group, logging to a file, listening on 127.0.0.1:<port>, accepting
// every recipient and handing each message to a tiny pipe script that writes
// envelope and content to a folder the test reads back. The system Postfix (if
// any) is never touched. Needs root (Postfix daemons drop to user postfix) and
// the Debian postfix package (scripts/install-test-deps.sh).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PostfixTlsOptions {
  certPem: string;
  keyPem: string;
  /** smtpd_tls_ask_ccert: ask the client for a certificate (default true). */
  askClientCert?: boolean;
  /** CA certificates sent in the CertificateRequest and used to verify clients (smtpd_tls_CAfile). */
  caPem?: string;
  /** smtpd_tls_security_level = encrypt: refuse MAIL before STARTTLS. */
  require?: boolean;
}

export interface ReceivedMessage {
  from: string;
  to: string[];
  /** The message as Postfix delivered it (with its Received: header on top). */
  raw: string;
}

export interface PostfixNextHop {
  port: number;
  /** The instance folder (config in conf/, delivered mail in mail/, log in maillog). */
  base: string;
  logLines(): Promise<string[]>;
  receivedMessages(): Promise<ReceivedMessage[]>;
  /** Waits until at least `count` messages were delivered; rejects with the log tail after `timeoutMs`. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  /** SHA-1 fingerprints (upper-case hex, no colons) of client certificates presented, in log order. */
  clientCertFingerprints(): Promise<string[]>;
  stop(): Promise<void>;
}

async function postconf(name: string): Promise<string> {
  const { stdout } = await run('postconf', ['-d', '-h', name], { env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
  return stdout.trim();
}

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const { stdout } = await run('id', [name]);
  const uid = /uid=(\d+)/.exec(stdout);
  const gid = /gid=(\d+)/.exec(stdout);
  if (!uid || !gid) throw new Error(`cannot resolve user ${name}: ${stdout}`);
  return { uid: Number(uid[1]), gid: Number(gid[1]) };
}

/** Delivery: the envelope in <name>.env (sender, then recipients, one a line), then the content in <name>.msg. */
const SINK_SCRIPT = `#!/bin/sh
# argv: <folder> <queue id> <sender> <recipient>...
dir=$1; id=$2; sender=$3; shift 3
name="$id.$$"
{ printf '%s\\n' "$sender"; for r in "$@"; do printf '%s\\n' "$r"; done; } > "$dir/.$name.env"
cat > "$dir/.$name.msg" || exit 75
# Content first, envelope last: a reader that sees the .env finds the .msg complete.
mv "$dir/.$name.msg" "$dir/$name.msg" && mv "$dir/.$name.env" "$dir/$name.env"
`;

function mainCf(base: string, tls: PostfixTlsOptions | undefined, overrides: Record<string, string>): string {
  const lines = [
    'compatibility_level = 3.6',
    `queue_directory = ${base}/queue`,
    `data_directory = ${base}/data`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'myhostname = nexthop.interchange.test',
    'mydomain = interchange.test',
    'smtpd_banner = $myhostname ESMTP Postfix (Interchange test next hop)',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    // Every recipient is of the "default" address class and goes to the sink.
    'mydestination =',
    'relay_domains =',
    'local_recipient_maps =',
    'alias_maps =',
    'alias_database =',
    'default_transport = sink',
    'relay_transport = sink',
    'local_transport = sink',
    'sink_destination_recipient_limit = 1000',
    // Loopback clients are in mynetworks, so every recipient is accepted (Postfix insists on a reject rule).
    'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
    'message_size_limit = 104857600',
    'biff = no',
    'default_process_limit = 100',
    // Fast retries: a test that fails delivery once should not wait minutes.
    'queue_run_delay = 1s',
    'minimal_backoff_time = 1s',
    'maximal_backoff_time = 2s',
    `maillog_file = ${base}/maillog`,
    `maillog_file_prefixes = ${base}`,
  ];
  if (tls) {
    lines.push(
      `smtpd_tls_security_level = ${tls.require ? 'encrypt' : 'may'}`,
      `smtpd_tls_cert_file = ${base}/tls/cert.pem`,
      `smtpd_tls_key_file = ${base}/tls/key.pem`,
      `smtpd_tls_ask_ccert = ${tls.askClientCert === false ? 'no' : 'yes'}`,
      // Level 2 logs the peer certificate line with its fingerprint.
      'smtpd_tls_loglevel = 2',
      'smtpd_tls_fingerprint_digest = sha1',
      'smtpd_tls_received_header = yes',
      // No resumption: every session does a full handshake, so every client certificate is logged.
      'smtpd_tls_session_cache_database =',
      'tls_ssl_options = NO_TICKET',
    );
    if (tls.caPem) lines.push(`smtpd_tls_CAfile = ${base}/tls/ca.pem`);
  }
  // Later lines win in main.cf.
  for (const [k, v] of Object.entries(overrides)) lines.push(`${k} = ${v}`);
  return lines.join('\n') + '\n';
}

function masterCf(base: string, port: number): string {
  return [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'pickup    unix  n       -       n       60      1       pickup',
    'cleanup   unix  n       -       n       -       0       cleanup',
    'qmgr      unix  n       -       n       300     1       qmgr',
    'tlsmgr    unix  -       -       n       1000?   1       tlsmgr',
    'rewrite   unix  -       -       n       -       -       trivial-rewrite',
    'bounce    unix  -       -       n       -       0       bounce',
    'defer     unix  -       -       n       -       0       bounce',
    'trace     unix  -       -       n       -       0       bounce',
    'verify    unix  -       -       n       -       1       verify',
    'flush     unix  n       -       n       1000?   0       flush',
    'proxymap  unix  -       -       n       -       -       proxymap',
    'smtp      unix  -       -       n       -       -       smtp',
    'relay     unix  -       -       n       -       -       smtp',
    'error     unix  -       -       n       -       -       error',
    'retry     unix  -       -       n       -       -       error',
    'discard   unix  -       -       n       -       -       discard',
    'anvil     unix  -       -       n       -       1       anvil',
    'scache    unix  -       -       n       -       1       scache',
    'postlog   unix-dgram n  -       n       -       1       postlogd',
    `sink      unix  -       n       n       -       -       pipe flags=q null_sender= user=nobody argv=${base}/sink.sh ${base}/mail \${queue_id} \${sender} \${recipient}`,
  ].join('\n') + '\n';
}

async function waitForPort(port: number, proc: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`Postfix master exited (${proc.exitCode ?? proc.signalCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`Postfix did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a private Postfix on 127.0.0.1:port; call stop() in a finally. */
export async function startPostfixNextHop(opts: {
  port: number;
  tls?: PostfixTlsOptions;
  /** Extra main.cf settings, e.g. `{ smtpd_client_restrictions: 'reject' }` or a smaller `message_size_limit`. */
  mainCf?: Record<string, string>;
}): Promise<PostfixNextHop> {
  const daemonDir = await postconf('daemon_directory');
  const base = await mkdtemp(path.join(os.tmpdir(), 'icx-postfix-'));
  // Postfix daemons run as user postfix and must traverse to the queue; the sink runs as nobody.
  await chmod(base, 0o755);
  await mkdir(path.join(base, 'conf'));
  await mkdir(path.join(base, 'queue'));
  await mkdir(path.join(base, 'data'));
  await mkdir(path.join(base, 'mail'));
  const postfixUser = await userIds('postfix');
  const nobody = await userIds('nobody');
  await chown(path.join(base, 'data'), postfixUser.uid, postfixUser.gid);
  await chown(path.join(base, 'mail'), nobody.uid, nobody.gid);
  await writeFile(path.join(base, 'sink.sh'), SINK_SCRIPT, { mode: 0o755 });
  if (opts.tls) {
    await mkdir(path.join(base, 'tls'));
    await writeFile(path.join(base, 'tls', 'cert.pem'), opts.tls.certPem);
    await writeFile(path.join(base, 'tls', 'key.pem'), opts.tls.keyPem, { mode: 0o600 });
    if (opts.tls.caPem) await writeFile(path.join(base, 'tls', 'ca.pem'), opts.tls.caPem);
  }
  await writeFile(path.join(base, 'maillog'), '');
  await writeFile(path.join(base, 'conf', 'main.cf'), mainCf(base, opts.tls, opts.mainCf ?? {}));
  await writeFile(path.join(base, 'conf', 'master.cf'), masterCf(base, opts.port));

  const env = { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` };
  try {
    // The same integrity step `postfix start` performs: creates the queue folders with the right owners.
    await run('postfix', ['-c', path.join(base, 'conf'), 'check'], { env });
  } catch (e) {
    const log = await readFile(path.join(base, 'maillog'), 'utf8').catch(() => '');
    await rm(base, { recursive: true, force: true });
    throw new Error(`postfix check failed: ${(e as Error).message}\n${log}`);
  }

  // detached: its own process group, so stop() can end master and every child it forked.
  const master = spawn(path.join(daemonDir, 'master'), ['-c', path.join(base, 'conf'), '-d'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  let masterOutput = '';
  master.stdout?.on('data', (d) => (masterOutput += String(d)));
  master.stderr?.on('data', (d) => (masterOutput += String(d)));
  const exited = new Promise<void>((resolve) => master.once('exit', () => resolve()));

  // If this test process dies without stop() (a timeout kill, a crash), the
  // watchdog ends the instance so no Postfix outlives the run.
  const watchdog = spawn(
    '/bin/sh',
    ['-c', 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -TERM -"$2" 2>/dev/null; sleep 3; kill -KILL -"$2" 2>/dev/null; rm -rf -- "$3"', 'watchdog', String(process.pid), String(master.pid), base],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();

  const logLines = async (): Promise<string[]> => (await readFile(path.join(base, 'maillog'), 'utf8')).split('\n').filter((l) => l.length > 0);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (master.exitCode === null && master.signalCode === null && master.pid) {
      master.kill('SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(-master.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    // master's SIGTERM handler signals its group; make sure nothing of that group (ours) is left.
    if (master.pid) {
      try {
        process.kill(-master.pid, 'SIGKILL');
      } catch {
        /* group already empty */
      }
    }
    if (watchdog.exitCode === null && watchdog.signalCode === null) watchdog.kill('SIGKILL');
    // kill() returns before the kernel has torn the processes down; the listening
    // socket closes only then. "Stopped" must mean the port refuses, since tests
    // use a stopped next hop as "next hop down".
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !(await portRefuses(opts.port))) await new Promise((r) => setTimeout(r, 50));
    await rm(base, { recursive: true, force: true });
  };

  try {
    await waitForPort(opts.port, master, 15_000);
  } catch (e) {
    const log = await logLines().catch(() => []);
    await stop();
    throw new Error(`${(e as Error).message}\n${masterOutput}\n${log.slice(-20).join('\n')}`);
  }

  const receivedMessages = async (): Promise<ReceivedMessage[]> => {
    const dir = path.join(base, 'mail');
    const names = (await readdir(dir)).filter((n) => n.endsWith('.env') && !n.startsWith('.')).sort();
    const out: ReceivedMessage[] = [];
    for (const n of names) {
      const env = (await readFile(path.join(dir, n), 'utf8')).split('\n');
      const [from, ...to] = env.slice(0, -1);
      out.push({ from, to, raw: await readFile(path.join(dir, n.replace(/\.env$/, '.msg')), 'utf8') });
    }
    return out;
  };

  return {
    port: opts.port,
    base,
    logLines,
    receivedMessages,
    async waitForMessages(count: number, timeoutMs = 20_000): Promise<ReceivedMessage[]> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const msgs = await receivedMessages();
        if (msgs.length >= count) return msgs;
        if (Date.now() > deadline) {
          const log = await logLines();
          throw new Error(`only ${msgs.length} of ${count} messages reached the Postfix next hop; log tail:\n${log.slice(-15).join('\n')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async clientCertFingerprints(): Promise<string[]> {
      return parseClientCertFingerprints(await logLines());
    },
    stop,
  };
}

/**
 * With smtpd_tls_loglevel = 2 Postfix logs a presented client certificate as `<client>: subject_CN=…, issuer=…, fingerprint=AB:CD:…, pkey_fingerprint=…`.
 */
export function parseClientCertFingerprints(lines: string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    if (!/postfix\/smtpd\[/.test(l)) continue;
    const m = /subject_CN=.*?\bfingerprint=([0-9A-Fa-f:]+)/.exec(l);
    if (m) out.push(m[1].replace(/:/g, '').toUpperCase());
  }
  return out;
}

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}
