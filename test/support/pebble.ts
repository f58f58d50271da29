// A real ACME server for tests: Debian's pebble (installed by scripts/install-test-deps.sh)
// with pebble-challtestsrv as its DNS server, each on ports of its own, stopped with everything
// it wrote when the test is done.
//
// The package ships no certificate for pebble's own HTTPS listener (upstream's test/certs are
// not packaged), so each run makes a small CA and a localhost certificate signed by it; the
// CA is what an administrator gives New-AcmeAccount -AcmeServerCertificate.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { freeTcpPort, tempDir } from './interchange.js';

export interface Pebble {
  /** The ACME directory URL (RFC 8555 §7.1.1). */
  directoryUrl: string;
  /** PEM of the CA that signed pebble's HTTPS certificate: trust it for the ACME connection. */
  tlsCaPem: string;
  /** Port pebble's validation authority connects to for http-01 (its httpPort setting). */
  httpPort: number;
  /** Port it connects to for tls-alpn-01 (its tlsPort setting). */
  tlsPort: number;
  /** PEM of pebble's issuing root, from its management API (pebble makes a new one every start). */
  issuingRootPem(): Promise<string>;
  /** PEM of pebble's intermediate, the Issuer of what it signs. */
  issuingIntermediatePem(): Promise<string>;
  output(): string;
  /** Stops pebble and starts it again on the same ports: it forgets its accounts and makes a new root and intermediate, with new names. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const PEBBLE = '/usr/bin/pebble';
const CHALLTESTSRV = '/usr/bin/pebble-challtestsrv';

function tlsMaterial(dir: string): { caPem: string; certFile: string; keyFile: string } {
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Pebble Test Listener CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'listener.key', '-out', 'listener.csr', '-subj', '/CN=localhost']);
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'listener.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'listener.pem', '-days', '2', '-extfile', 'ext.cnf']);
  return { caPem: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'), certFile: path.join(dir, 'listener.pem'), keyFile: path.join(dir, 'listener.key') };
}

async function waitForLine(child: ChildProcess, out: () => string, pattern: RegExp, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!pattern.test(out())) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${out()}`);
    if (Date.now() > deadline) throw new Error(`${what} did not start within 20 s:\n${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts pebble-challtestsrv (DNS only: every name resolves to 127.0.0.1, no AAAA) and pebble,
 * whose validation authority asks that DNS server and connects to `httpPort` for http-01.
 * With `externalAccountMacKeys` (key id → base64url HMAC key), pebble requires external account binding.
 */
export async function startPebble(
  opts: {
    httpPort?: number;
    externalAccountMacKeys?: Record<string, string>;
    /** Validation waits a random 0 to n-1 seconds, as pebble does by default. */ vaSleepSeconds?: number;
    /** host:port of the DNS server pebble asks (a test's own named for dns-01); default a pebble-challtestsrv started here. */
    dnsServer?: string;
  } = {},
): Promise<Pebble> {
  const dir = await tempDir('pebble');
  const children: ChildProcess[] = [];
  let log = '';
  const capture = (c: ChildProcess, tag: string) => {
    c.stdout!.on('data', (d) => (log += `[${tag}] ${d}`));
    c.stderr!.on('data', (d) => (log += `[${tag}] ${d}`));
  };
  const stop = async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }
    }
    await fs.promises.rm(dir, { recursive: true, force: true });
  };
  try {
    const tls = tlsMaterial(dir);
    const [dnsPort, challManagementPort, acmePort, managementPort] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
    const httpPort = opts.httpPort ?? (await freeTcpPort());
    const tlsPort = await freeTcpPort();
    if (!opts.dnsServer) {
      const dns = spawn(CHALLTESTSRV, ['-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${challManagementPort}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', ''], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(dns);
      capture(dns, 'challtestsrv');
      await waitForLine(dns, () => log, /Answering DNS|Starting management server/i, 'pebble-challtestsrv');
    }
    const config = path.join(dir, 'pebble-config.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: tls.certFile,
          privateKey: tls.keyFile,
          httpPort,
          tlsPort,
          ocspResponderURL: '',
          externalAccountBindingRequired: !!opts.externalAccountMacKeys,
          ...(opts.externalAccountMacKeys ? { externalAccountMACKeys: opts.externalAccountMacKeys } : {}),
        },
      }),
    );
    const startPebbleProcess = async () => {
      const from = log.length;
      const pebble = spawn(PEBBLE, ['-config', config, '-dnsserver', opts.dnsServer ?? `127.0.0.1:${dnsPort}`], {
        stdio: ['ignore', 'pipe', 'pipe'],
        // No random sleeps before validation, no deliberately rejected nonces, no reused authorizations:
        // a test waits for issuance, not for chaos, and every request really answers its challenge.
        env: { ...process.env, ...(opts.vaSleepSeconds ? { PEBBLE_VA_SLEEPTIME: String(opts.vaSleepSeconds) } : { PEBBLE_VA_NOSLEEP: '1' }), PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
      });
      children.push(pebble);
      capture(pebble, 'pebble');
      await waitForLine(pebble, () => log.slice(from), /Listening on: /, 'pebble');
      return pebble;
    };
    let pebble = await startPebbleProcess();
    const management = (p: string) =>
      new Promise<string>((resolve, reject) => {
        https
          .get(`https://127.0.0.1:${managementPort}${p}`, { ca: tls.caPem }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (d) => (body += d));
            res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${p}: ${res.statusCode} ${body}`))));
          })
          .on('error', reject);
      });
    return {
      directoryUrl: `https://localhost:${acmePort}/dir`,
      tlsCaPem: tls.caPem,
      httpPort,
      tlsPort,
      issuingRootPem: () => management('/roots/0'),
      issuingIntermediatePem: () => management('/intermediates/0'),
      output: () => log,
      restart: async () => {
        const exited = new Promise((r) => pebble.once('exit', r));
        pebble.kill('SIGTERM');
        await exited;
        pebble = await startPebbleProcess();
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
