import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createTestPki, pfx, type TestPki } from '../support/pki.js';
import { AdminApi, CLI, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';

const run = promisify(execFile);

/** `interchange shell` as an administrator runs it, without a terminal. */
async function shell(dataDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'shell', '--data', dataDir, '--server', 'EX01', ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ');

// The README's rotation path as issue 16 found it: the renewed certificate
// imported on EX01 the default way, its private key not exportable. Every step
// is a shell command; no transport is stopped at any point.
describe('the README rotation with a renewed certificate whose key is not exportable, in the shell', () => {
  let dataDir: string;
  let ex01: ServerProcess;
  let ex02: ServerProcess;
  let api: AdminApi;
  let pki: TestPki;
  let oldTp: string;
  let newTp: string;

  const transportsRunning = async () => {
    for (const server of [ex01, ex02]) {
      const [service] = await new AdminApi(server.url, server.token).ok('Get-Service', { Name: ['MSExchangeTransport'] });
      assert.equal(service.Status, 'Running', `transport on ${server.url}`);
    }
  };

  before(async () => {
    dataDir = await tempDir('rotation-nx');
    ex01 = await startServerProcess({ dataDir, serverName: 'EX01' });
    ex02 = await startServerProcess({ dataDir, serverName: 'EX02' });
    api = new AdminApi(ex01.url, ex01.token);
    pki = await createTestPki();
    oldTp = pki.oldCert.facts.thumbprint;
    newTp = pki.renewedCert.facts.thumbprint;
    const old = path.join(dataDir, 'old.pfx');
    const renewed = path.join(dataDir, 'renewed.pfx');
    await fs.promises.writeFile(old, await pfx(pki.oldCert, 'P@ssw0rd1', { withChain: true }));
    await fs.promises.writeFile(renewed, await pfx(pki.renewedCert, 'P@ssw0rd1', { withChain: true }));
    const pw = `$pw = ConvertTo-SecureString -String 'P@ssw0rd1' -AsPlainText -Force`;
    const imported = await shell(dataDir, [
      '-Command',
      [pw, ...['EX01', 'EX02'].map((s) => `Import-ExchangeCertificate -Server ${s} -FileData ([System.IO.File]::ReadAllBytes('${old}')) -Password $pw | Out-Null`)].join('\n'),
    ]);
    assert.equal(imported.code, 0, imported.stderr);
    // SMTP, answering No to "Overwrite the existing default SMTP certificate?" (-Force would answer Yes).
    const enableSmtp = (server: string, tp: string) => api.ok('Enable-ExchangeCertificate', { Server: server, Thumbprint: tp, Services: 'SMTP' }, { answers: { OverwriteDefaultSmtpCertificate: false } });
    await enableSmtp('EX01', oldTp);
    await enableSmtp('EX02', oldTp);
    const renewal = await shell(dataDir, [
      '-Command',
      [
        pw,
        `$c = Get-ExchangeCertificate -Thumbprint ${oldTp}`,
        `New-SendConnector -Name "Contoso Outbound" -AddressSpaces contoso.com -SmartHosts mx.contoso.com -SourceTransportServers EX01,EX02 -TlsCertificateName "<I>$($c.Issuer)<S>$($c.Subject)" | Out-Null`,
        // The renewal, as Import-ExchangeCertificate does it by default: -PrivateKeyExportable $false.
        `Import-ExchangeCertificate -Server EX01 -FileData ([System.IO.File]::ReadAllBytes('${renewed}')) -Password $pw | Format-List Thumbprint,PrivateKeyExportable`,
      ].join('\n'),
    ]);
    assert.equal(renewal.code, 0, renewal.stderr);
    assert.match(renewal.stdout, new RegExp(`Thumbprint\\s+: ${newTp}\\nPrivateKeyExportable : False`));
    await enableSmtp('EX01', newTp);
  });

  after(async () => {
    await ex01?.stop();
    await ex02?.stop();
    if (dataDir) await fs.promises.rm(dataDir, { recursive: true, force: true });
  });

  it('refuses the switch without -DeployToSourceServers, -WhatIf first, naming the way forward, and changes nothing', async () => {
    const before_ = JSON.stringify(await api.ok('Get-ExchangeCertificate', { Server: 'EX02' }));
    for (const whatIf of [' -WhatIf', ' -Confirm:$false']) {
      const r = await shell(dataDir, ['-Command', `Switch-ExchangeCertificate -Thumbprint ${oldTp} -NewThumbprint ${newTp}${whatIf}`]);
      assert.equal(r.code, 1, whatIf);
      assert.doesNotMatch(r.stdout, /What if:/);
      assert.ok(
        oneLine(r.stderr).includes(
          `EX02 does not have the new certificate: run Switch-ExchangeCertificate -Thumbprint ${oldTp} -NewThumbprint ${newTp} -DeployToSourceServers to copy it there from EX01, or install it there with Import-ExchangeCertificate -Server EX02 -FileData ([System.IO.File]::ReadAllBytes('<renewed.pfx>')) -Password (ConvertTo-SecureString -String '<password>' -AsPlainText -Force) and run Switch-ExchangeCertificate -Thumbprint ${oldTp} -NewThumbprint ${newTp} again.`,
        ),
        r.stderr,
      );
      assert.match(r.stderr, /FullyQualifiedErrorId : ICX_CERT_ROTATION_FAILED,Switch-ExchangeCertificate/);
    }
    assert.equal(JSON.stringify(await api.ok('Get-ExchangeCertificate', { Server: 'EX02' })), before_);
    await transportsRunning();
  });

  it("the removal guard stays Exchange's: the renewed certificate can't be removed to import it again", async () => {
    const r = await shell(dataDir, ['-Command', `Remove-ExchangeCertificate -Server EX01 -Thumbprint ${newTp} -Confirm:$false`]);
    assert.equal(r.code, 1);
    assert.ok(
      oneLine(r.stderr).includes(
        'A special Rpc error occurs on server EX01: These certificates are tagged with following Send Connectors : Contoso Outbound. Removing and replacing certificates from Send Connector would break the mail flow. If you still want to proceed then replace or remove these certificates from Send Connector and then try this command.',
      ),
      r.stderr,
    );
  });

  it('Get-ExchangeCertificateAlert names the half-done rotation and the command that finishes it; that command finishes it', async () => {
    const listed = await shell(dataDir, ['-Command', "Get-ExchangeCertificateAlert | Where-Object Kind -eq 'RotationIncomplete' | Format-List Server,Connector,Command"]);
    assert.equal(listed.code, 0, listed.stderr);
    const command = `Switch-ExchangeCertificate -Thumbprint ${oldTp} -NewThumbprint ${newTp} -DeployToSourceServers`;
    assert.match(listed.stdout, new RegExp(`^Server {4}: EX02\nConnector : Contoso Outbound\nCommand {3}: ${command}$`, 'm'));

    const plan = await shell(dataDir, ['-Command', `${command} -WhatIf`]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(oneLine(plan.stdout), /What if: Replace certificate .* EX02 \(Contoso Outbound\): deploy new, TlsCertificateName/);

    const done = await shell(dataDir, ['-Command', `${command} -Confirm:$false | Format-Table Connector,Server,OldCertificate,Deployed`]);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /Contoso Outbound\s+EX01\s+Removed\s+False/);
    assert.match(done.stdout, /Contoso Outbound\s+EX02\s+Removed\s+True/);

    for (const server of ['EX01', 'EX02']) {
      const certs = await api.ok('Get-ExchangeCertificate', { Server: server });
      assert.ok(!certs.some((c) => c.Thumbprint === oldTp), `old certificate gone from ${server}`);
      const renewed = certs.find((c) => c.Thumbprint === newTp);
      assert.equal(renewed?.Status, 'Valid', `renewed certificate on ${server}`);
      assert.equal(renewed?.HasPrivateKey, true);
      assert.equal(renewed?.PrivateKeyExportable, false, 'the copy is no more exportable than the original');
      assert.match(String(renewed?.Services), /SMTP/);
    }
    const [connector] = await api.ok('Get-SendConnector', { Identity: 'Contoso Outbound' });
    assert.equal(connector.TlsCertificateName, `<I>${pki.renewedCert.facts.issuer}<S>${pki.renewedCert.facts.subject}`);
    assert.deepEqual((await api.ok('Get-ExchangeCertificateAlert')).filter((a) => a.Kind === 'RotationIncomplete'), []);
    await transportsRunning();
    const stops = await api.ok('Search-AdminAuditLog', { Cmdlets: ['Stop-Service'] });
    assert.deepEqual(stops, [], 'no step stopped a transport');
  });
});
