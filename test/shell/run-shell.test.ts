// runShell in its script modes (-Command, -File, standard input) and the
// scenario's resolution procedure run verbatim, against the fake host.
process.env.TZ = 'UTC';

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { runShell } from '../../src/shell/run.js';
import { FakeHost } from './fake-host.js';
import { run } from './harness.js';

const NEW = 'FFEE0011223344556677889900AABBCCDDEEFF00';
const OLD = 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => { text += d.toString(); });
  return { stream, text: () => text };
}

async function shell(options: { command?: string; file?: string; stdin?: string; nonInteractive?: boolean; host?: FakeHost; cwd?: string }) {
  const host = options.host ?? new FakeHost();
  const out = capture();
  const err = capture();
  const code = await runShell({
    host,
    command: options.command,
    file: options.file,
    stdin: Readable.from(options.stdin !== undefined ? [options.stdin] : []),
    stdout: out.stream,
    stderr: err.stream,
    interactive: false,
    nonInteractive: options.nonInteractive ?? false,
    prompt: 'PS>',
    cwd: options.cwd,
  });
  return { code, out: out.text(), err: err.text(), host };
}

test('-Command: output, exit status 0, and 1 after a terminating error', async () => {
  const ok = await shell({ command: '(Get-ExchangeCertificate).Count' });
  assert.deepEqual([ok.code, ok.out, ok.err], [0, '2\n', '']);
  const bad = await shell({ command: 'Get-ExchangeCertificate -Thumbprint 0000' });
  assert.equal(bad.code, 1);
  assert.match(bad.err, /ICX_CERT_NOT_FOUND/);
  const exit = await shell({ command: "'x'; exit 3; 'y'" });
  assert.deepEqual([exit.code, exit.out], [3, 'x\n']);
  const parse = await shell({ command: 'Get-ExchangeCertificate |' });
  assert.equal(parse.code, 1);
  assert.match(parse.err, /An empty pipe element is not allowed\./);
});

test('-NonInteractive (and no terminal): a high-impact cmdlet fails unless confirmed', async () => {
  const r = await shell({ command: `Remove-ExchangeCertificate -Thumbprint ${OLD}`, nonInteractive: true });
  assert.equal(r.code, 1);
  assert.match(r.err, /needs confirmation, but the shell cannot prompt/);
  assert.equal(r.host.state.certs.length, 2);
  const confirmed = await shell({ command: `Set-SendConnector "Contoso Outbound" -TlsCertificateName $null; Remove-ExchangeCertificate -Thumbprint ${OLD} -Confirm:$false`, nonInteractive: true });
  assert.equal(confirmed.code, 0, confirmed.err);
  assert.equal(confirmed.host.state.certs.length, 1);
});

test('-File runs a script file and reports errors with the file name; a missing file is an error', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shell-file-'));
  try {
    await fs.writeFile(path.join(dir, 'check.ps1'), '$n = (Get-ExchangeCertificate).Count\n"certificates: $n"\n"root: $PSScriptRoot"\nGet-Mailbox\n');
    const r = await shell({ file: 'check.ps1', cwd: dir });
    assert.equal(r.out, `certificates: 2\nroot: ${dir}\n`);
    assert.match(r.err, new RegExp(`^Get-Mailbox : The term 'Get-Mailbox' is not recognized[^\\n]*\\nAt ${path.join(dir, 'check.ps1').replace(/[.]/g, '\\.')}:4 char:1\\n`));
    assert.equal(r.code, 1);
    const missing = await shell({ file: 'nope.ps1', cwd: dir });
    assert.equal(missing.code, 1);
    assert.match(missing.err, /The argument 'nope\.ps1' to the -File parameter does not exist\./);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('a script on standard input runs as a whole', async () => {
  const r = await shell({ stdin: 'Stop-Service MSExchangeTransport\n(Get-Service).Status\n' });
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'Stopped\n');
});

test('a host that cannot list its cmdlets stops the shell with a clear message', async () => {
  const host = new FakeHost();
  host.listCmdlets = async () => { throw new Error('connect ECONNREFUSED 127.0.0.1:1'); };
  const r = await shell({ command: 'Get-Date', host });
  assert.equal(r.code, 1);
  assert.equal(r.err, 'Cannot load the cmdlets from the Interchange server: connect ECONNREFUSED 127.0.0.1:1\n');
});

// The article's commands, verbatim, with only the <placeholders> filled in. The article prints step 6 as
// `$cert = Get-ExchangeCertificate -Thumbprint <new> $tlscertificatename = "..."` on one line; PowerShell
// itself reads that as one command (see parse-errors.test.ts), so the script has the two statements on two lines.
const PROCEDURE = `Get-ExchangeCertificate | Format-List FriendlyName,Subject,Issuer,CertificateDomains,Thumbprint,NotBefore,NotAfter
Get-SendConnector -Identity "Contoso Outbound" | Format-List SourceTransportServers
Stop-Service MSExchangeTransport
Set-SendConnector -Identity "Contoso Outbound" -TlsCertificateName $Null
Remove-ExchangeCertificate -Server EX01 -Thumbprint ${OLD}
$cert = Get-ExchangeCertificate -Thumbprint ${NEW}
$tlscertificatename = "<i>$($cert.Issuer)<s>$($cert.Subject)"
Set-SendConnector -Identity "Contoso Outbound" -TlsCertificateName $tlscertificatename
Start-Service MSExchangeTransport
Get-TransportService | Format-List Identity,*ProtocolLogPath
Get-ExchangeCertificate | Format-List Subject,Issuer,SerialNumber,Thumbprint,NotBefore,NotAfter,CertificateDomains
`;

test("the scenario's resolution procedure runs as written (fake host)", async () => {
  const refusal = await run(`Remove-ExchangeCertificate -Server EX01 -Thumbprint ${OLD} -Confirm:$false`);
  assert.match(refusal.err, /^Remove-ExchangeCertificate : A special Rpc error occurs on server EX01: These certificates are tagged with following Send Connectors : Contoso Outbound\. Removing and replacing certificates from Send Connector would break the mail flow\. If you still want to proceed then replace or remove these certificates from Send Connector and then try this command\.\n/);

  const host = new FakeHost();
  const r = await run(PROCEDURE, { host, answers: ['Y'] });
  assert.equal(r.err, '');
  assert.equal(r.prompts.length, 1, 'only Remove-ExchangeCertificate (high impact) asks');
  assert.match(r.out, /FriendlyName       : Old\nSubject            : CN=mail\.contoso\.com\nIssuer             : CN=Contoso CA, O=Contoso, C=US\n/);
  assert.match(r.out, /\nSourceTransportServers : \{EX01, EX02\}\n/);
  assert.match(r.out, /Remove certificate with thumbprint A1B2C3D4E5F60718293A4B5C6D7E8F9012345678 from the computer's certificate store\?\n\[Y\] Yes  \[A\] Yes to All  \[N\] No  \[L\] No to All  \[\?\] Help \(default is "Y"\): Y\n/);
  assert.equal(r.rt.getVariable('tlscertificatename'), '<i>CN=Contoso CA, O=Contoso, C=US<s>CN=mail.contoso.com');
  assert.match(r.out, /\nIdentity               : EX01\nReceiveProtocolLogPath : \/var\/log\/interchange\/ProtocolLog\/SmtpReceive\nSendProtocolLogPath    : \/var\/log\/interchange\/ProtocolLog\/SmtpSend\n/);
  assert.match(r.out, /\nSubject            : CN=mail\.contoso\.com\nIssuer             : CN=Contoso CA, O=Contoso, C=US\nSerialNumber       : 02\nThumbprint         : FFEE0011223344556677889900AABBCCDDEEFF00\nNotBefore          : 2\/1\/2024 8:30:00 AM\nNotAfter           : [^\n]+\nCertificateDomains : \{mail\.contoso\.com\}\n/);
  const sent = host.requests.map((q) => q.name);
  assert.deepEqual(sent, [
    'Get-ExchangeCertificate', 'Get-SendConnector', 'Stop-Service', 'Set-SendConnector', 'Remove-ExchangeCertificate', 'Remove-ExchangeCertificate',
    'Get-ExchangeCertificate', 'Set-SendConnector', 'Start-Service', 'Get-TransportService', 'Get-ExchangeCertificate',
  ]);
  assert.deepEqual(host.requests[7].request.parameters, { Identity: 'Contoso Outbound', TlsCertificateName: '<i>CN=Contoso CA, O=Contoso, C=US<s>CN=mail.contoso.com' });
  assert.deepEqual(host.state.certs.map((c) => c.Thumbprint), [NEW]);
  assert.equal(host.state.services.MSExchangeTransport, 'Running');
});

test('the procedure in -File mode without a terminal stops at the removal with a clear message', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shell-proc-'));
  try {
    await fs.writeFile(path.join(dir, 'procedure.ps1'), PROCEDURE);
    const r = await shell({ file: 'procedure.ps1', cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.err, /needs confirmation, but the shell cannot prompt/);
    assert.equal(r.host.state.certs.length, 2);
    const confirmed = await shell({ command: "$ConfirmPreference = 'None'\n" + PROCEDURE, cwd: dir });
    assert.equal(confirmed.code, 0, confirmed.err);
    assert.equal(confirmed.host.state.certs.length, 1);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
