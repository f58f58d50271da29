// A real RFC 2136 update server for tests: Debian's BIND (named, installed by
// scripts/install-test-deps.sh) as this test's own instance, on a free port of 127.0.0.1, primary
// for one zone that a TSIG key may update (TXT records only), stopped with everything it wrote
// when the test is done.
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freeTcpPort, tempDir } from './interchange.js';

export interface Named {
  /** host:port, as Set-AcmeAccount -DnsUpdateServer takes it. */
  server: string;
  port: number;
  zone: string;
  keyName: string;
  algorithm: 'hmac-sha256' | 'hmac-sha512';
  /** base64, as a BIND key file holds it. */
  secret: string;
  /** A key named in the configuration that no update-policy grants anything: its updates are REFUSED. */
  keyWithoutGrant: { name: string; secret: string };
  output(): string;
  stop(): Promise<void>;
}

const NAMED = '/usr/sbin/named';

export async function startNamed(opts: { zone?: string; keyName?: string; algorithm?: 'hmac-sha256' | 'hmac-sha512' } = {}): Promise<Named> {
  const zone = opts.zone ?? 'contoso.test';
  const keyName = opts.keyName ?? 'acme-update';
  const algorithm = opts.algorithm ?? 'hmac-sha256';
  const secret = crypto.randomBytes(32).toString('base64');
  const keyWithoutGrant = { name: 'no-grant', secret: crypto.randomBytes(32).toString('base64') };
  const dir = await tempDir('named');
  const port = await freeTcpPort();
  fs.writeFileSync(
    path.join(dir, 'zone.db'),
    [`$TTL 60`, `@ IN SOA ns.${zone}. hostmaster.${zone}. 1 60 60 600 60`, `@ IN NS ns.${zone}.`, `ns IN A 127.0.0.1`, ''].join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'named.conf'),
    `options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
};
controls { };
key "${keyName}" { algorithm ${algorithm}; secret "${secret}"; };
key "${keyWithoutGrant.name}" { algorithm ${algorithm}; secret "${keyWithoutGrant.secret}"; };
zone "${zone}" {
  type primary;
  file "${dir}/zone.db";
  update-policy { grant ${keyName} zonesub TXT; };
};
`,
  );
  let log = '';
  const child: ChildProcess = spawn(NAMED, ['-g', '-4', '-c', path.join(dir, 'named.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await fs.promises.rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  while (!/running$/m.test(log)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`named did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { server: `127.0.0.1:${port}`, port, zone, keyName, algorithm, secret, keyWithoutGrant, output: () => log, stop };
}
