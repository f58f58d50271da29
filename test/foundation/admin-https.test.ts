// The admin center and API over HTTPS with the certificate assigned to IIS, as
// Exchange serves EAC: required off loopback, swapped without a restart when
// IIS is assigned another certificate, and trusted by pinning (the shell, and
// one server calling another) rather than by host name.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pinnedFetch, UntrustedCertificateError } from '../../src/security/pinned-fetch.js';
import { AdminApi, CLI, freeTcpPort, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';
import { runProcess } from '../support/smtp-tools.js';

/** The certificate the admin port presents, as openssl sees it. */
async function presented(port: number): Promise<{ thumbprint: string; pem: string }> {
  const r = await runProcess('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-showcerts'], { input: '', timeoutMs: 20_000 });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
  assert.ok(pem, `openssl s_client got no certificate:\n${r.stdout}${r.stderr}`);
  const { X509Certificate } = await import('node:crypto');
  return { thumbprint: new X509Certificate(pem).fingerprint.replace(/:/g, ''), pem: pem + '\n' };
}

function shell(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [CLI, 'shell', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('admin center over HTTPS with the IIS certificate', () => {
  let dataDir: string;
  let ex01: ServerProcess;
  let ex02: ServerProcess;
  let api: AdminApi;
  let httpsUrl: string;

  before(async () => {
    dataDir = await tempDir('admin-https');
    // Off loopback, HTTPS needs no flag. The FQDN is the admin URL's host name, so it must resolve here.
    ex01 = await startServerProcess({ dataDir, serverName: 'EX01', extraArgs: ['--admin-host', '0.0.0.0', '--fqdn', 'localhost'] });
    ex02 = await startServerProcess({ dataDir, serverName: 'EX02' });
    httpsUrl = `https://127.0.0.1:${ex01.adminPort}`;
    api = new AdminApi(ex02.url, ex02.token);
  });
  after(async () => {
    await ex02?.stop();
    await ex01?.stop();
  });

  it('serves the IIS certificate, which an ordinary client does not trust and a pinned one does', async () => {
    assert.equal(ex01.url, `https://localhost:${ex01.adminPort}`, 'serve prints the HTTPS address');
    const iis = (await api.ok('Get-ExchangeCertificate', { Server: 'EX01' })).filter((c) => String(c.Services).includes('IIS'));
    assert.equal(iis.length, 1);
    assert.equal((await presented(ex01.adminPort)).thumbprint, iis[0].Thumbprint);
    await assert.rejects(fetch(`${httpsUrl}/api/v1/health`), 'a self-signed certificate is not trusted by default');
    await assert.rejects(fetch(`http://127.0.0.1:${ex01.adminPort}/api/v1/health`), 'no plain HTTP on the HTTPS port');
    const { X509Certificate } = await import('node:crypto');
    const der = new X509Certificate((await presented(ex01.adminPort)).pem).raw;
    assert.equal((await pinnedFetch([der])(`${httpsUrl}/api/v1/health`)).status, 200);
    // Pinned to another certificate, the same address is refused: the call never reaches the wrong server.
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=someone-else', '-days', '1', '-keyout', '/dev/null', '-outform', 'DER'], { maxBuffer: 1 << 20 });
    assert.equal(made.status, 0, String(made.stderr));
    const otherDer = made.stdout;
    await assert.rejects(pinnedFetch([otherDer])(`${httpsUrl}/api/v1/health`), (e: Error) => e instanceof UntrustedCertificateError && /is not the one this connection trusts \(self-signed certificate\)/.test(e.message));
  });

  it('the shell finds the server in the directory and trusts exactly its IIS certificate', () => {
    const r = shell(['--data', dataDir, '--server', 'EX01', '-Command', 'Get-ExchangeServer | Format-Table Name']);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /EX01/);
  });

  it('--url https:// is verified: refused without trust, accepted with --trust-certificate', async () => {
    const refused = shell(['--url', httpsUrl, '--token', ex01.token, '-Command', 'Get-ExchangeServer']);
    assert.notEqual(refused.status, 0);
    assert.match(refused.out, /cannot be reached.*(self.signed|certificate)/i);
    const file = path.join(await tempDir('admin-https-trust'), 'ex01.pem');
    fs.writeFileSync(file, (await presented(ex01.adminPort)).pem);
    const trusted = shell(['--url', httpsUrl, '--token', ex01.token, '--trust-certificate', file, '-Command', 'Get-ExchangeServer | Format-Table Name']);
    assert.equal(trusted.status, 0, trusted.out);
    assert.match(trusted.out, /EX02/);
  });

  it('another server calls it over HTTPS, pinned to the certificate the directory holds for it', async () => {
    const r = await api.invoke('Get-Queue', { Server: 'EX01' });
    assert.equal(r.ok, true, r.error?.message);
  });

  it('assigning IIS to another certificate moves the binding and the admin port serves it without a restart', async () => {
    const [fresh] = await api.ok('New-ExchangeCertificate', { Server: 'EX01', SubjectName: 'CN=ex01-admin.contoso.com', DomainName: ['ex01-admin.contoso.com'], Services: 'SMTP', Force: true });
    await api.ok('Enable-ExchangeCertificate', { Server: 'EX01', Thumbprint: fresh.Thumbprint, Services: 'IIS' });
    const iis = (await api.ok('Get-ExchangeCertificate', { Server: 'EX01' })).filter((c) => String(c.Services).includes('IIS'));
    assert.deepEqual(iis.map((c) => c.Thumbprint), [fresh.Thumbprint], 'IIS has one binding: the old certificate lost it');
    const deadline = Date.now() + 15_000;
    let now = (await presented(ex01.adminPort)).thumbprint;
    while (now !== fresh.Thumbprint && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      now = (await presented(ex01.adminPort)).thumbprint;
    }
    assert.equal(now, fresh.Thumbprint);
    assert.equal(ex01.child.exitCode, null, 'the same process');
    // The shell pins to what the directory says now.
    const r = shell(['--data', dataDir, '--server', 'EX01', '-Command', 'Get-ExchangeServer | Format-Table Name']);
    assert.equal(r.status, 0, r.out);
  });
});

it('--insecure-admin-http keeps plain HTTP off loopback, on request', async () => {
  const s = await startServerProcess({ dataDir: await tempDir('admin-http'), serverName: 'EX01', adminPort: await freeTcpPort(), extraArgs: ['--admin-host', '0.0.0.0', '--fqdn', 'localhost', '--insecure-admin-http'] });
  try {
    assert.match(s.url, /^http:\/\/localhost:/);
    assert.equal((await fetch(`http://127.0.0.1:${s.adminPort}/api/v1/health`)).status, 200);
  } finally {
    await s.stop();
  }
});
