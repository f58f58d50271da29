import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createTestPki, pfx, type TestPki } from '../support/pki.js';
import { AdminApi, bytes, CLI, secure, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';

const run = promisify(execFile);

/** `interchange shell` as an administrator runs it, without a terminal. */
async function shell(dataDir: string, server: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'shell', '--data', dataDir, '--server', server, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe("the article's resolution, verbatim in the shell, against two running servers", () => {
  let dataDir: string;
  let ex01: ServerProcess;
  let ex02: ServerProcess;
  let api: AdminApi;
  let pki: TestPki;
  let oldTp: string;
  let newTp: string;

  before(async () => {
    dataDir = await tempDir('scenario');
    ex01 = await startServerProcess({ dataDir, serverName: 'EX01' });
    ex02 = await startServerProcess({ dataDir, serverName: 'EX02' });
    api = new AdminApi(ex01.url, ex01.token);
    pki = await createTestPki();
    oldTp = pki.oldCert.facts.thumbprint;
    newTp = pki.renewedCert.facts.thumbprint;
    // The situation the article starts from, set up in the shell as an administrator would.
    const old = path.join(dataDir, 'old.pfx');
    const renewed = path.join(dataDir, 'renewed.pfx');
    await fs.promises.writeFile(old, await pfx(pki.oldCert, 'P@ssw0rd1', { withChain: true }));
    await fs.promises.writeFile(renewed, await pfx(pki.renewedCert, 'P@ssw0rd1', { withChain: true }));
    const setup = [
      `$pw = ConvertTo-SecureString -String 'P@ssw0rd1' -AsPlainText -Force`,
      ...['EX01', 'EX02'].flatMap((s) => [
        `Import-ExchangeCertificate -Server ${s} -FileData ([System.IO.File]::ReadAllBytes('${old}')) -Password $pw | Out-Null`,
        `Import-ExchangeCertificate -Server ${s} -FileData ([System.IO.File]::ReadAllBytes('${renewed}')) -Password $pw | Out-Null`,
      ]),
      `$c = Get-ExchangeCertificate -Thumbprint ${oldTp}`,
      `New-SendConnector -Name "Contoso Outbound" -AddressSpaces "contoso.com" -DNSRoutingEnabled $false -SmartHosts 127.0.0.1 -SourceTransportServers EX01,EX02 -TlsCertificateName "<I>$($c.Issuer)<S>$($c.Subject)" | Out-Null`,
    ].join('\n');
    const imported = await shell(dataDir, 'EX01', ['-Command', setup.split('\n').slice(0, 5).join('\n')]);
    assert.equal(imported.code, 0, imported.stderr);
    // SMTP for both, answering No to "Overwrite the existing default SMTP certificate?" (-Force would answer Yes).
    for (const server of ['EX01', 'EX02']) {
      for (const tp of [oldTp, newTp]) await api.ok('Enable-ExchangeCertificate', { Server: server, Thumbprint: tp, Services: 'SMTP' }, { answers: { OverwriteDefaultSmtpCertificate: false } });
    }
    const r = await shell(dataDir, 'EX01', ['-Command', setup.split('\n').slice(5).join('\n')]);
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    await ex01?.stop();
    await ex02?.stop();
    await fs.promises.rm(dataDir, { recursive: true, force: true });
  });

  it('refuses the removal with the exact message, as a PowerShell error, exit status 1', async () => {
    for (const server of ['EX01', 'EX02']) {
      const r = await shell(dataDir, 'EX01', ['-Command', `Remove-ExchangeCertificate -Server ${server} -Thumbprint ${oldTp} -Confirm:$false`]);
      assert.equal(r.code, 1);
      assert.ok(
        r.stderr.replace(/\s*\n\s*/g, ' ').includes(
          `A special Rpc error occurs on server ${server}: These certificates are tagged with following Send Connectors : Contoso Outbound. Removing and replacing certificates from Send Connector would break the mail flow. If you still want to proceed then replace or remove these certificates from Send Connector and then try this command.`,
        ),
        r.stderr,
      );
      assert.match(r.stderr, /FullyQualifiedErrorId : ICX_CERT_IN_USE_SEND_CONNECTOR,Remove-ExchangeCertificate/);
    }
  });

  it('runs every step of the resolution as one script, and ends in the state the article promises', async () => {
    // Step 1 and 2: find the thumbprints and the source servers.
    const listing = await shell(dataDir, 'EX01', ['-Command', 'Get-ExchangeCertificate | Format-List FriendlyName,Subject,Issuer,CertificateDomains,Thumbprint,NotBefore,NotAfter']);
    assert.equal(listing.code, 0, listing.stderr);
    assert.match(listing.stdout, new RegExp(`Thumbprint\\s+: ${oldTp}`));
    assert.match(listing.stdout, new RegExp(`Thumbprint\\s+: ${newTp}`));
    assert.match(listing.stdout, /Subject\s+: CN=mail\.contoso\.com, O=Contoso, C=US\n/);
    assert.match(listing.stdout, /CertificateDomains : \{mail\.contoso\.com, autodiscover\.contoso\.com\}/);
    const scoping = await shell(dataDir, 'EX01', ['-Command', 'Get-SendConnector -Identity "Contoso Outbound" | Format-List SourceTransportServers']);
    assert.match(scoping.stdout, /SourceTransportServers : \{EX01, EX02\}/);

    // Step 3: stop transport on each source server (the command is run on each server).
    for (const server of ['EX01', 'EX02']) {
      const stop = await shell(dataDir, server, ['-Command', 'Stop-Service MSExchangeTransport; Get-Service MSExchangeTransport']);
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, /Stopped\s+MSExchangeTransport\s+Microsoft Exchange Transport/);
    }

    // Steps 4 to 7, the article's commands with only the placeholders filled in.
    const script = path.join(dataDir, 'resolution.ps1');
    await fs.promises.writeFile(
      script,
      [
        `# The article's resolution. Removals confirm by default; a script has no one to ask.`,
        `$ConfirmPreference = 'None'`,
        `Set-SendConnector -Identity "Contoso Outbound" -TlsCertificateName $Null`,
        `Remove-ExchangeCertificate -Server EX01 -Thumbprint ${oldTp}`,
        `Remove-ExchangeCertificate -Server EX02 -Thumbprint ${oldTp}`,
        // The article prints these two statements on one line; PowerShell itself needs them on two.
        `$cert = Get-ExchangeCertificate -Thumbprint ${newTp}`,
        `$tlscertificatename = "<i>$($cert.Issuer)<s>$($cert.Subject)"`,
        `Set-SendConnector -Identity "Contoso Outbound" -TlsCertificateName $tlscertificatename`,
        `Write-Output "TlsCertificateName=$((Get-SendConnector "Contoso Outbound").TlsCertificateName)"`,
      ].join('\n'),
    );
    const resolution = await shell(dataDir, 'EX01', ['-File', script]);
    assert.equal(resolution.code, 0, resolution.stderr);
    assert.equal(resolution.stderr, '');
    assert.match(resolution.stdout, /TlsCertificateName=<I>CN=Interchange Test Root CA, O=Interchange Tests, C=US<S>CN=mail\.contoso\.com, O=Contoso, C=US/);

    // Step 8: start transport again on each source server.
    for (const server of ['EX01', 'EX02']) {
      const start = await shell(dataDir, server, ['-Command', 'Start-Service MSExchangeTransport; Get-Service MSExchangeTransport']);
      assert.match(start.stdout, /Running\s+MSExchangeTransport/);
    }

    // "More information": where the protocol logs are, and the certificate properties to match them with.
    const logs = await shell(dataDir, 'EX01', ['-Command', 'Get-TransportService | Format-List Identity,*ProtocolLogPath']);
    // Exchange's order: alphabetical, so the receive path comes first.
    assert.match(logs.stdout, /Identity\s+: EX01\nReceiveProtocolLogPath : \/.*\/SmtpReceive\nSendProtocolLogPath\s+: \/.*\/SmtpSend/);
    assert.match(logs.stdout, /Identity\s+: EX02/);
    const props = await shell(dataDir, 'EX02', ['-Command', 'Get-ExchangeCertificate | Format-List Subject,Issuer,SerialNumber,Thumbprint,NotBefore,NotAfter,CertificateDomains']);
    assert.match(props.stdout, new RegExp(`SerialNumber\\s+: ${pki.renewedCert.facts.serialNumber}`));

    // The final state, through the API.
    for (const server of ['EX01', 'EX02']) {
      const certs = await api.ok('Get-ExchangeCertificate', { Server: server });
      assert.ok(!certs.some((c) => c.Thumbprint === oldTp), `old certificate removed from ${server}`);
      assert.ok(certs.some((c) => c.Thumbprint === newTp), `renewed certificate kept on ${server}`);
      const [service] = await new AdminApi(server === 'EX01' ? ex01.url : ex02.url, ex01.token).ok('Get-Service', { Name: ['MSExchangeTransport'] });
      assert.equal(service.Status, 'Running');
    }
    const [connector] = await api.ok('Get-SendConnector', { Identity: 'Contoso Outbound' });
    assert.equal(connector.TlsCertificateName, `<I>${pki.renewedCert.facts.issuer}<S>${pki.renewedCert.facts.subject}`);
    const refused = await api.invoke('Remove-ExchangeCertificate', { Thumbprint: newTp });
    assert.equal(refused.error?.code, 'ICX_CERT_IN_USE_SEND_CONNECTOR', 'the renewed certificate is protected now');
  });

  it('without a terminal, a removal that needs confirmation fails with a clear message and removes nothing', async () => {
    const r = await shell(dataDir, 'EX01', ['-NonInteractive', '-Command', `Remove-ExchangeCertificate -Thumbprint ${newTp}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr.replace(/\s*\n\s*/g, ' '), /needs confirmation, but the shell cannot prompt/);
    assert.ok((await api.ok('Get-ExchangeCertificate')).some((c) => c.Thumbprint === newTp));
  });
});
