// The test tools themselves: a private Postfix next hop, swaks and openssl s_client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { toPem } from '../../src/certificates/containers.js';
import { createTestPki, pem, type TestCert } from './pki.js';
import { parseClientCertFingerprints, startPostfixNextHop } from './postfix.js';
import { freePort, opensslSClientStartTls, swaks } from './smtp-tools.js';

async function certFiles(dir: string, name: string, cert: TestCert): Promise<{ cert: string; key: string }> {
  const p = pem(cert);
  const files = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  await writeFile(files.cert, p.certificate);
  await writeFile(files.key, p.privateKey, { mode: 0o600 });
  return files;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}

test('Postfix next hop without TLS accepts mail from swaks and hands back envelope and content', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const pf = await startPostfixNextHop({ port });
  try {
    const r = await swaks(['--server', `127.0.0.1:${port}`, '--from', 'alice@contoso.com', '--to', 'bob@fabrikam.com,carol@fabrikam.com', '--header', 'Subject: plain hop', '--body', 'first line']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /<- {2}250 2\.0\.0 Ok: queued as/);
    const bounce = await swaks(['--server', `127.0.0.1:${port}`, '--from', '<>', '--to', 'dave@fabrikam.com', '--header', 'Subject: null sender']);
    assert.equal(bounce.code, 0, bounce.stdout);
    const msgs = await pf.waitForMessages(2);
    const plain = msgs.find((m) => m.raw.includes('Subject: plain hop'));
    assert.ok(plain);
    assert.equal(plain.from, 'alice@contoso.com');
    assert.deepEqual(plain.to, ['bob@fabrikam.com', 'carol@fabrikam.com']);
    assert.match(plain.raw, /first line/);
    const nul = msgs.find((m) => m.raw.includes('Subject: null sender'));
    assert.equal(nul?.from, '');
    assert.deepEqual(nul?.to, ['dave@fabrikam.com']);
    // Without TLS nobody presented a certificate.
    assert.deepEqual(await pf.clientCertFingerprints(), []);
    assert.ok((await pf.logLines()).some((l) => /postfix\/pipe\[\d+\]: .*status=sent/.test(l)));
  } finally {
    await pf.stop();
  }
  assert.equal(await refused(port), true, 'port still open after stop()');
  await assert.rejects(stat(pf.base));
});

test('Postfix next hop with STARTTLS: s_client sees its certificate; client certificates from swaks are logged by SHA-1 fingerprint', { timeout: 180_000 }, async () => {
  const pki = await createTestPki();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'icx-pf-tls-'));
  const port = await freePort();
  const server = pem(pki.viaIntermediate);
  const pf = await startPostfixNextHop({
    port,
    tls: {
      // Leaf then intermediate, as Postfix wants the chain in the cert file.
      certPem: server.certificate + pki.viaIntermediate.chain.slice(0, 1).map((d) => toPem(d, 'CERTIFICATE')).join(''),
      keyPem: server.privateKey,
      caPem: toPem(pki.ca.der, 'CERTIFICATE'),
    },
  });
  try {
    const seen = await opensslSClientStartTls(port);
    assert.equal(seen.fingerprintSha1, pki.viaIntermediate.facts.thumbprint);
    assert.equal(seen.chainPem.length, 2);
    assert.match(seen.output, /250[ -]STARTTLS|Verify return code/);

    const oldFiles = await certFiles(dir, 'old', pki.oldCert);
    const renewedFiles = await certFiles(dir, 'renewed', pki.renewedCert);
    const send = (files: { cert: string; key: string } | undefined, subject: string) =>
      swaks([
        '--server', `127.0.0.1:${port}`, '--from', 'alice@contoso.com', '--to', 'bob@fabrikam.com', '--header', `Subject: ${subject}`,
        '--tls', ...(files ? ['--tls-cert', files.cert, '--tls-key', files.key] : []),
      ]);
    for (const [files, subject] of [[oldFiles, 'with old'], [renewedFiles, 'with renewed'], [undefined, 'without cert']] as const) {
      const r = await send(files, subject);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /TLS started/);
    }
    await pf.waitForMessages(3);
    assert.deepEqual(await pf.clientCertFingerprints(), [pki.oldCert.facts.thumbprint, pki.renewedCert.facts.thumbprint]);
    // The two certificates share subject and issuer: only the fingerprint tells them apart.
    assert.notEqual(pki.oldCert.facts.thumbprint, pki.renewedCert.facts.thumbprint);
    const msgs = await pf.receivedMessages();
    assert.match(msgs.find((m) => m.raw.includes('Subject: with old'))!.raw, /\(using TLSv1\.[23] with cipher/);
  } finally {
    await pf.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('Postfix next hop options: TLS required, and main.cf overrides (a small size limit)', { timeout: 120_000 }, async () => {
  const pki = await createTestPki();
  const port = await freePort();
  const server = pem(pki.selfSigned);
  const pf = await startPostfixNextHop({ port, tls: { certPem: server.certificate, keyPem: server.privateKey, require: true }, mainCf: { message_size_limit: '2000' } });
  try {
    const plain = await swaks(['--server', `127.0.0.1:${port}`, '--from', 'a@contoso.com', '--to', 'b@fabrikam.com']);
    assert.notEqual(plain.code, 0);
    assert.match(plain.stdout, /530 5\.7\.0 Must issue a STARTTLS command first/);
    const big = await swaks(['--server', `127.0.0.1:${port}`, '--tls', '--from', 'a@contoso.com', '--to', 'b@fabrikam.com', '--body', 'x'.repeat(5000)]);
    assert.notEqual(big.code, 0);
    assert.match(big.stdout, /552 5\.3\.4 Error: message file too big/);
    const ok = await swaks(['--server', `127.0.0.1:${port}`, '--tls', '--from', 'a@contoso.com', '--to', 'b@fabrikam.com', '--body', 'small']);
    assert.equal(ok.code, 0, ok.stdout);
    assert.equal((await pf.waitForMessages(1)).length, 1);
    assert.equal((await opensslSClientStartTls(port)).fingerprintSha1, pki.selfSigned.facts.thumbprint);
  } finally {
    await pf.stop();
  }
});

test('parseClientCertFingerprints reads only smtpd peer-certificate lines', () => {
  const lines = [
    'Nov 26 23:21:57 nexthop postfix/smtpd[13154]: localhost[127.0.0.1]: subject_CN=mail.contoso.com, issuer=mail.contoso.com, fingerprint=49:6B:82:8A:EB:6E:16:C1:C8:17:31:63:EE:47:DD:85:00:06:C8:9C, pkey_fingerprint=F8:88:96:61:AB:22:19:21:38:5E:53:E5:02:87:94:D3:1E:62:57:17',
    'Nov 26 23:21:57 nexthop postfix/smtp[13160]: mx[1.2.3.4]:25: subject_CN=mx, issuer=R3, fingerprint=AA:BB, pkey_fingerprint=CC',
    'Nov 26 23:21:57 nexthop postfix/smtpd[13154]: Untrusted TLS connection established from localhost[127.0.0.1]: TLSv1.3',
  ];
  assert.deepEqual(parseClientCertFingerprints(lines), ['496B828AEB6E16C1C8173163EE47DD850006C89C']);
});
