// Real SMTP clients for tests: swaks and openssl s_client (Debian packages,
// installed by scripts/install-test-deps.sh), and a free loopback port.
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; never rejects for a non-zero exit (the caller asserts on code). */
export function runProcess(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    p.stdin.on('error', () => undefined);
    p.stdin.end(opts.input ?? '');
  });
}

/**
 * Ports this test process has handed out. The kernel may give the port it just released to the
 * next bind to port 0, so two calls in a row could return the same port: a server started with
 * it as both its SMTP and its admin port opened the admin API there, lost the SMTP binding on
 * 0.0.0.0, and the test waited on an HTTP server for its relay grant.
 */
const handedOut = new Set<number>();

/** A TCP port on 127.0.0.1 that was free a moment ago, never the same twice in this process. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
      });
    });
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/**
 * swaks with the given arguments, e.g.
 * `['--server', '127.0.0.1:2525', '--from', 'a@contoso.com', '--to', 'b@fabrikam.com', '--tls', '--tls-cert', c, '--tls-key', k]`.
 * Exit code 0 means the transaction was accepted; swaks prints the whole dialogue on stdout.
 */
export function swaks(args: string[], opts: { timeoutMs?: number } = {}): Promise<ProcessResult> {
  return runProcess('swaks', args, opts);
}

export interface SClientResult {
  /** The server (leaf) certificate as PEM. */
  certificatePem: string;
  /** SHA-1 of its DER, upper-case hex without colons (Exchange's Thumbprint). */
  fingerprintSha1: string;
  /** Every certificate the server sent, leaf first. */
  chainPem: string[];
  output: string;
}

/**
 * `openssl s_client -starttls smtp` against 127.0.0.1:port: what certificate the
 * server presents after STARTTLS.
 */
export async function opensslSClientStartTls(
  port: number,
  opts: { host?: string; servername?: string; ehloName?: string; certFile?: string; keyFile?: string; extraArgs?: string[]; timeoutMs?: number; /** What to send after the handshake (default QUIT). */ input?: string } = {},
): Promise<SClientResult> {
  const args = ['s_client', '-connect', `${opts.host ?? '127.0.0.1'}:${port}`, '-starttls', 'smtp', '-showcerts'];
  if (opts.servername) args.push('-servername', opts.servername);
  if (opts.ehloName) args.push('-name', opts.ehloName);
  if (opts.certFile) args.push('-cert', opts.certFile);
  if (opts.keyFile) args.push('-key', opts.keyFile);
  args.push(...(opts.extraArgs ?? []));
  const r = await runProcess('openssl', args, { input: opts.input ?? 'QUIT\r\n', timeoutMs: opts.timeoutMs ?? 30_000 });
  const output = r.stdout + r.stderr;
  const chainPem = [...r.stdout.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => m[0] + '\n');
  if (chainPem.length === 0) throw new Error(`openssl s_client got no certificate (exit ${r.code}):\n${output}`);
  const leaf = new X509Certificate(chainPem[0]);
  return { certificatePem: chainPem[0], fingerprintSha1: leaf.fingerprint.replace(/:/g, '').toUpperCase(), chainPem, output };
}
