// Server cmdlets through the CmdletHost: what the shell sends (parameters as
// typed, positional arguments, pipeline binding by property name, wire
// encodings, confirmation fields), and how it answers confirmation prompts,
// -WhatIf, warnings, errors and missing mandatory parameters.
process.env.TZ = 'UTC';

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { lines, run } from './harness.js';

const NEW = 'FFEE0011223344556677889900AABBCCDDEEFF00';
const OLD = 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678';

test('named parameters go as typed, positional arguments in order, common parameters stay local', async () => {
  const r = await run(`Get-ExchangeCertificate -thumb ${NEW} -ErrorAction Stop -Verbose; Stop-Service MSExchangeTransport -Confirm:$false`);
  assert.equal(r.err, '');
  assert.deepEqual(r.host.requests[0], { name: 'Get-ExchangeCertificate', request: { parameters: { thumb: NEW }, confirmPreference: 'High' } });
  assert.deepEqual(r.host.requests[1], { name: 'Stop-Service', request: { parameters: {}, positional: ['MSExchangeTransport'], confirmPreference: 'High', confirmed: true } });
  assert.equal(r.host.state.services.MSExchangeTransport, 'Stopped');
});

test('a number typed for a String parameter keeps its text', async () => {
  const r = await run('Get-ExchangeCertificate -Thumbprint 0123 -ErrorAction SilentlyContinue; Set-TransportService EX01 -MaxConcurrentMailboxDeliveries 020 -Confirm:$false');
  assert.equal(r.host.requests[0].request.parameters!.Thumbprint, '0123');
  assert.equal(r.host.requests[1].request.parameters!.MaxConcurrentMailboxDeliveries, 20);
  assert.deepEqual(r.host.requests[1].request.positional, ['EX01']);
});

test('$null, hashtables, arrays and booleans are encoded as the contract says', async () => {
  const r = await run(`Set-SendConnector -Identity "Contoso Outbound" -TlsCertificateName $Null -AddressSpaces @{Add="SMTP:a.com;1"; Remove="SMTP:*;1"} -Enabled $true -Confirm:$false
Set-SendConnector "Contoso Outbound" -AddressSpaces a.com,b.com -Confirm:$false`);
  assert.equal(r.err, '');
  assert.deepEqual(r.host.requests[0].request.parameters, {
    Identity: 'Contoso Outbound', TlsCertificateName: null, AddressSpaces: { Add: 'SMTP:a.com;1', Remove: 'SMTP:*;1' }, Enabled: true,
  });
  assert.deepEqual(r.host.requests[1].request.parameters, { AddressSpaces: ['a.com', 'b.com'] });
  assert.equal(r.host.state.connectors[0].TlsCertificateName, null);
});

test('byte arrays and secure strings: ReadAllBytes with a Windows path mapped onto an existing file, Get-Content -AsByteStream, -Encoding Byte', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shell-bytes-'));
  try {
    const data = Buffer.from([0x30, 0x82, 0x01, 0x00, 0xff]);
    await fs.writeFile(path.join(dir, 'a.pfx'), data);
    const winPath = 'C:' + dir.replace(/\//g, '\\') + '\\a.pfx';
    const r = await run([
      `Import-ExchangeCertificate -Server EX01 -FileData ([System.IO.File]::ReadAllBytes('${winPath}')) -Password (ConvertTo-SecureString -String 'P@ssw0rd1' -AsPlainText -Force)`,
      'Import-ExchangeCertificate -FileData (Get-Content -Path a.pfx -AsByteStream)',
      `Import-ExchangeCertificate -FileData ([Byte[]](Get-Content -Path ${path.join(dir, 'a.pfx')} -Encoding Byte -ReadCount 0))`,
      `$bytes = [System.IO.File]::ReadAllBytes('./a.pfx'); "$($bytes.Count) bytes"`,
    ].join('\n'), { cwd: dir });
    assert.equal(r.err, '');
    const b64 = data.toString('base64');
    assert.deepEqual(r.host.state.imported, [
      { server: 'EX01', fileData: { $bytes: b64 }, password: { $secure: 'P@ssw0rd1' } },
      { server: null, fileData: { $bytes: b64 }, password: null },
      { server: null, fileData: { $bytes: b64 }, password: null },
    ]);
    assert.deepEqual(lines(r.out), ['5 bytes']);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('a Windows path that maps to nothing fails with the path as typed', async () => {
  const r = await run("[System.IO.File]::ReadAllBytes('C:\\certs\\none.pfx')");
  assert.match(r.err, /^Exception calling "ReadAllBytes" with "1" argument\(s\): "Could not find a part of the path 'C:\\certs\\none\.pfx'\."/);
  assert.match(r.err, /FullyQualifiedErrorId : FileNotFoundException/);
});

test('pipeline binding by property name: Get-ExchangeCertificate -Thumbprint X | Remove-ExchangeCertificate', async () => {
  const r = await run(`$ConfirmPreference = 'None'\nGet-ExchangeCertificate -Thumbprint ${NEW} | Remove-ExchangeCertificate`);
  const removal = r.host.requests.find((q) => q.name === 'Remove-ExchangeCertificate')!;
  // Thumbprint is bound from the object's Thumbprint property within the default set; Identity belongs to the other set.
  assert.deepEqual(removal.request.parameters, { Thumbprint: NEW });
  assert.equal(removal.request.confirmPreference, 'None');
  assert.match(r.err, /These certificates are tagged with following Send Connectors : Contoso Outbound\./);
});

test('pipeline binding picks the parameter set the user named: -Server keeps Thumbprint, nothing else binds Identity', async () => {
  const r = await run(`Get-ExchangeCertificate | Remove-ExchangeCertificate -Server EX01 -WhatIf`);
  const removals = r.host.requests.filter((q) => q.name === 'Remove-ExchangeCertificate');
  assert.equal(removals.length, 2, 'one invocation per input object');
  assert.deepEqual(removals.map((q) => q.request.parameters), [{ Server: 'EX01', Thumbprint: OLD }, { Server: 'EX01', Thumbprint: NEW }]);
  assert.ok(removals.every((q) => q.request.whatIf === true));
});

test('pipeline binding: Get-SendConnector | Set-SendConnector -TlsCertificateName $null', async () => {
  const r = await run('Get-SendConnector | Set-SendConnector -TlsCertificateName $null -Confirm:$false');
  assert.equal(r.err, '');
  const set = r.host.requests.find((q) => q.name === 'Set-SendConnector')!;
  assert.deepEqual(set.request.parameters, { TlsCertificateName: null, Identity: 'Contoso Outbound' });
  assert.equal(r.host.state.connectors[0].TlsCertificateName, null);
});

test('pipeline binding: Get-Service | Stop-Service binds Name; an empty pipeline invokes nothing', async () => {
  const r = await run("Get-Service | Stop-Service -Confirm:$false\nGet-ExchangeCertificate | Where-Object FriendlyName -eq 'none' | Remove-ExchangeCertificate");
  assert.equal(r.err, '');
  assert.deepEqual(r.host.requests.find((q) => q.name === 'Stop-Service')!.request.parameters, { Name: 'MSExchangeTransport' });
  assert.equal(r.host.requests.filter((q) => q.name === 'Remove-ExchangeCertificate').length, 0);
});

test('confirmation: the prompt as PowerShell shows it, answered Yes', async () => {
  const r = await run('Set-SendConnector "Contoso Outbound" -TlsCertificateName $null; Remove-ExchangeCertificate -Thumbprint ' + OLD, { answers: ['y'] });
  assert.equal(r.err, '');
  assert.ok(r.out.includes([
    '',
    'Confirm',
    'Are you sure you want to perform this action?',
    `Remove certificate with thumbprint ${OLD} from the computer's certificate store?`,
    '[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [?] Help (default is "Y"): y',
  ].join('\n')), r.out);
  const removals = r.host.requests.filter((q) => q.name === 'Remove-ExchangeCertificate');
  assert.equal(removals.length, 2);
  assert.equal(removals[0].request.confirmed, undefined);
  assert.equal(removals[1].request.confirmed, true);
  assert.deepEqual(r.host.state.certs.map((c) => c.Thumbprint), [NEW]);
});

test('confirmation: No skips without an error, ? shows the help, an empty answer is Yes', async () => {
  const r = await run(`$null = Set-SendConnector "Contoso Outbound" -TlsCertificateName $null -Confirm:$false
Remove-ExchangeCertificate ${OLD}
Remove-ExchangeCertificate ${NEW}`, { answers: ['n', '?', ''] });
  assert.equal(r.err, '');
  assert.match(r.out, /Y - Continue with only the next step of the operation\.\nA - Continue with all the steps of the operation\.\nN - Skip this operation and proceed with the next operation\.\nL - Skip this operation and all subsequent operations\./);
  assert.deepEqual(r.host.state.certs.map((c) => c.Thumbprint), [OLD]);
  assert.equal(r.prompts.length, 3);
});

test('confirmation: Yes to All answers for the rest of the pipeline, No to All skips it', async () => {
  const yes = await run('$null = Set-SendConnector "Contoso Outbound" -TlsCertificateName $null -Confirm:$false\nGet-ExchangeCertificate | Remove-ExchangeCertificate', { answers: ['a'] });
  assert.equal(yes.prompts.length, 1);
  assert.equal(yes.host.state.certs.length, 0);
  const no = await run('$null = Set-SendConnector "Contoso Outbound" -TlsCertificateName $null -Confirm:$false\nGet-ExchangeCertificate | Remove-ExchangeCertificate', { answers: ['l'] });
  assert.equal(no.prompts.length, 1);
  assert.equal(no.host.state.certs.length, 2);
  assert.equal(no.err, '');
});

test('confirmation without a terminal fails clearly; -Confirm:$false and $ConfirmPreference = None proceed', async () => {
  const r = await run(`Remove-ExchangeCertificate -Thumbprint ${OLD}\n'next statement runs'`);
  assert.match(r.err, /^Remove-ExchangeCertificate : Remove certificate with thumbprint A1B2.* This action needs confirmation, but the shell cannot prompt \(it runs with -NonInteractive or without a terminal\)\. Run the command with -Confirm:\$false, or set \$ConfirmPreference = 'None', to proceed without a prompt\./);
  assert.match(r.err, /FullyQualifiedErrorId : ICX_CONFIRMATION_REQUIRED,Remove-ExchangeCertificate/);
  assert.equal(r.rt.hadTerminatingError, true);
  assert.deepEqual(lines(r.out), ['next statement runs']);
  assert.equal(r.host.state.certs.length, 2);

  const p = await run(`$ConfirmPreference = 'None'; Set-SendConnector "Contoso Outbound" -TlsCertificateName $null; Remove-ExchangeCertificate -Thumbprint ${OLD}`);
  assert.equal(p.err, '');
  assert.equal(p.host.state.certs.length, 1);
});

test('-Confirm forces the prompt for a medium-impact cmdlet; $ConfirmPreference = Medium prompts too', async () => {
  const r = await run('Stop-Service MSExchangeTransport -Confirm', { answers: ['y'] });
  assert.equal(r.host.requests[0].request.confirm, true);
  assert.equal(r.prompts.length, 1);
  const m = await run("$ConfirmPreference = 'Medium'; Stop-Service MSExchangeTransport", { answers: ['n'] });
  assert.equal(m.host.requests[0].request.confirmPreference, 'Medium');
  assert.equal(m.host.state.services.MSExchangeTransport, 'Running');
});

test('-WhatIf prints what would happen and changes nothing; $WhatIfPreference does the same', async () => {
  const r = await run(`Stop-Service MSExchangeTransport -WhatIf\n$WhatIfPreference = $true\nSet-SendConnector "Contoso Outbound" -TlsCertificateName $null`);
  assert.equal(r.err, '');
  assert.deepEqual(lines(r.out), [
    'What if: Performing the operation "Stop-Service" on target "Microsoft Exchange Transport (MSExchangeTransport)".',
    'What if: Configuring Send connector "Contoso Outbound".',
  ]);
  assert.ok(r.host.requests.every((q) => q.request.whatIf === true));
  assert.equal(r.host.state.services.MSExchangeTransport, 'Running');
  assert.notEqual(r.host.state.connectors[0].TlsCertificateName, null);
});

test('warnings from the server print as WARNING lines; -WarningAction SilentlyContinue hides them', async () => {
  const r = await run('Set-SendConnector "Contoso Outbound" -Enabled $false -Confirm:$false\nSet-SendConnector "Contoso Outbound" -Enabled $false -Confirm:$false -WarningAction SilentlyContinue');
  assert.deepEqual(lines(r.out), ['WARNING: The Send connector is disabled; mail that uses it will queue.']);
});

test('a server error renders with the cmdlet, the position, CategoryInfo and FullyQualifiedErrorId', async () => {
  const r = await run(`Write-Output first\nGet-ExchangeCertificate -Thumbprint 0000`);
  assert.equal(r.err, [
    'Get-ExchangeCertificate : The certificate with thumbprint 0000 was not found.',
    'At line:2 char:1',
    '+ Get-ExchangeCertificate -Thumbprint 0000',
    '+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~',
    '    + CategoryInfo          : ObjectNotFound: (:) [Get-ExchangeCertificate], ManagementObjectNotFoundException',
    '    + FullyQualifiedErrorId : ICX_CERT_NOT_FOUND,Get-ExchangeCertificate',
    '',
  ].join('\n'));
});

test('bad input: unknown parameter, ambiguous prefix, value that does not convert, missing mandatory; each points at its cause and nothing runs', async () => {
  const unknown = await run('Get-ExchangeCertificate -Bogus 1');
  assert.match(unknown.err, /^Get-ExchangeCertificate : A parameter cannot be found that matches parameter name 'Bogus'\.\nAt line:1 char:25\n\+ Get-ExchangeCertificate -Bogus 1\n\+                         ~~~~~~~~\n    \+ CategoryInfo          : InvalidArgument: \(:\) \[Get-ExchangeCertificate\], ParameterBindingException\n    \+ FullyQualifiedErrorId : ICX_PARAM_UNKNOWN,Get-ExchangeCertificate\n$/);

  const ambiguous = await run('Set-SendConnector "Contoso Outbound" -Tls x -Confirm:$false');
  assert.match(ambiguous.err, /Parameter cannot be processed because the parameter name 'Tls' is ambiguous\. Possible matches include: -TlsCertificateName -TlsAuthLevel\./);
  assert.match(ambiguous.err, /ICX_PARAM_AMBIGUOUS,Set-SendConnector/);

  const conversion = await run('Set-TransportService EX01 -MaxConcurrentMailboxDeliveries abc -Confirm:$false');
  assert.match(conversion.err, /Cannot convert value "abc" to type "System\.Int32"/);
  assert.match(conversion.err, /ICX_PARAM_CONVERSION,Set-TransportService/);

  const enumValue = await run('Set-SendConnector "Contoso Outbound" -TlsAuthLevel Nope -Confirm:$false');
  assert.match(enumValue.err, /ICX_PARAM_CONVERSION/);

  const missing = await run('New-SendConnector -Name x');
  assert.match(missing.err, /^New-SendConnector : Cannot process command because of one or more missing mandatory parameters: AddressSpaces\./);
  assert.match(missing.err, /ICX_PARAM_MISSING,New-SendConnector/);

  const missingArg = await run('Get-ExchangeCertificate -Thumbprint');
  assert.match(missingArg.err, /^Get-ExchangeCertificate : Missing an argument for parameter 'Thumbprint'\. Specify a parameter of type 'System\.String' and try again\./);
  assert.match(missingArg.err, /FullyQualifiedErrorId : MissingArgument,Get-ExchangeCertificate/);
  assert.equal(missingArg.host.requests.length, 0);

  const twice = await run('Get-ExchangeCertificate -Thumbprint a -Thumbprint b');
  assert.match(twice.err, /Cannot bind parameter because parameter 'Thumbprint' is specified more than once/);
  assert.equal(twice.host.requests.length, 0);
});

test('a missing mandatory parameter is prompted for when a person is there', async () => {
  const r = await run('New-SendConnector -Name Internet | ForEach-Object { $_.AddressSpaces }', { answers: ['SMTP:*;1', 'SMTP:b.com;2', ''] });
  assert.equal(r.err, '');
  assert.match(r.out, /^cmdlet New-SendConnector at command pipeline position 1\nSupply values for the following parameters:\nAddressSpaces\[0\]: SMTP:\*;1\nAddressSpaces\[1\]: SMTP:b\.com;2\nAddressSpaces\[2\]: \n/);
  assert.deepEqual(lines(r.out).slice(-2), ['SMTP:*;1', 'SMTP:b.com;2']);
  const stop = await run('Stop-Service -Confirm:$false', { answers: ['MSExchangeTransport'] });
  assert.match(stop.out, /Name: MSExchangeTransport/);
  assert.equal(stop.host.state.services.MSExchangeTransport, 'Stopped');
});

test('-ErrorAction: SilentlyContinue hides the error but records it in $Error; Stop ends the script; Continue goes on', async () => {
  const silent = await run("Get-ExchangeCertificate 0000 -ErrorAction SilentlyContinue\n$Error.Count\n$Error[0].Exception.Message; 'after'");
  assert.equal(silent.err, '');
  assert.equal(silent.rt.hadTerminatingError, false);
  assert.equal(lines(silent.out)[0], '1');

  const stop = await run("Get-ExchangeCertificate 0000 -ErrorAction Stop\n'after'");
  assert.match(stop.err, /ICX_CERT_NOT_FOUND/);
  assert.equal(stop.out, '');

  const pref = await run("$ErrorActionPreference = 'Stop'\nGet-ExchangeCertificate 0000\n'after'");
  assert.equal(pref.out, '');
  assert.match(pref.err, /ICX_CERT_NOT_FOUND/);

  const cont = await run("Get-ExchangeCertificate 0000\n'after'");
  assert.deepEqual(lines(cont.out), ['after']);
});

test('non-terminating errors from the server: output still flows, -ErrorAction Stop turns them terminating', async () => {
  const r = await run("Get-ExchangeCertificate -DomainName mail.contoso.com,nowhere.example | ForEach-Object FriendlyName\n'after'");
  assert.deepEqual(lines(r.out), ['Old', 'New', 'after']);
  assert.match(r.err, /^Get-ExchangeCertificate : No certificate for the domain nowhere\.example was found\./);
  assert.equal(r.rt.hadTerminatingError, false);
  const stop = await run("Get-ExchangeCertificate -DomainName nowhere.example -ErrorAction Stop\n'after'");
  assert.equal(stop.out, '');
  assert.equal(stop.rt.hadTerminatingError, true);
});

test('unknown cmdlet: PowerShell\'s message, nothing is sent', async () => {
  const r = await run('Get-Mailboxx -Identity x');
  assert.match(r.err, /^Get-Mailboxx : The term 'Get-Mailboxx' is not recognized as the name of a cmdlet, function, script file, or operable program\./);
  assert.equal(r.host.requests.length, 0);
});

test('Write-Error, throw and runtime errors render as PowerShell does', async () => {
  const r = await run("Write-Error 'custom failure'\n1/0\n$n = $null; $n.Foo()\nthrow 'stop here'\n'never'");
  assert.equal(r.err, [
    'Write-Error : custom failure',
    'At line:1 char:1',
    "+ Write-Error 'custom failure'",
    '+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~',
    '    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException',
    '    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorException',
    'Attempted to divide by zero.',
    'At line:2 char:1',
    '+ 1/0',
    '+ ~~~',
    '    + CategoryInfo          : NotSpecified: (:) [], RuntimeException',
    '    + FullyQualifiedErrorId : RuntimeException',
    'You cannot call a method on a null-valued expression.',
    'At line:3 char:13',
    '+ $n = $null; $n.Foo()',
    '+             ~~~~~~~~',
    '    + CategoryInfo          : InvalidOperation: (:) [], RuntimeException',
    '    + FullyQualifiedErrorId : InvokeMethodOnNull',
    'stop here',
    'At line:4 char:1',
    "+ throw 'stop here'",
    '+ ~~~~~~~~~~~~~~~~~',
    '    + CategoryInfo          : OperationStopped: (stop here:String) [], RuntimeException',
    '    + FullyQualifiedErrorId : stop here',
    '',
  ].join('\n'));
  assert.equal(r.out, '');
});

test('local cmdlet binding errors use PowerShell\'s messages', async () => {
  const r = await run("Select-Object -Bogus 1\n1 | Sort-Object -D -C\nConvertTo-SecureString -String x -AsPlainText\nGet-Content /nonexistent/file.txt\n1,2 | Select-Object a b\nConvertTo-SecureString -String '' -AsPlainText -Force");
  assert.match(r.err, /^Select-Object : A parameter cannot be found that matches parameter name 'Bogus'\./m);
  assert.match(r.err, /NamedParameterNotFound,Microsoft\.PowerShell\.Commands\.SelectObjectCommand/);
  assert.match(r.err, /^Sort-Object : Parameter cannot be processed because the parameter name 'D' is ambiguous\. Possible matches include: -Descending -Debug\./m);
  assert.match(r.err, /The system cannot protect plain text input\./);
  assert.match(r.err, /^Get-Content : Cannot find path '\/nonexistent\/file\.txt' because it does not exist\./m);
  assert.match(r.err, /ObjectNotFound: \(\/nonexistent\/file\.txt:String\) \[Get-Content\], ItemNotFoundException/);
  assert.match(r.err, /A positional parameter cannot be found that accepts argument 'b'\./);
  assert.match(r.err, /^ConvertTo-SecureString : Cannot bind argument to parameter 'String' because it is an empty string\./m);
  assert.match(r.err, /ParameterArgumentValidationErrorEmptyStringNotAllowed,Microsoft\.PowerShell\.Commands\.ConvertToSecureStringCommand/);
});

test('Ctrl-C aborts the running request and stops the script without an error', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const started = Date.now();
  const r = await run("Get-Queue\n'not reached'", { signal: controller.signal });
  assert.ok(Date.now() - started < 2000);
  assert.equal(r.out, '');
  assert.equal(r.err, '');
});

test('try/catch does not catch non-terminating errors; $Error[0] shows the last error', async () => {
  const r = await run("try { Get-ExchangeCertificate -DomainName nowhere.example | Out-Null; 'went on' } catch { 'caught' }\n$Error[0].FullyQualifiedErrorId");
  assert.deepEqual(lines(r.out), ['went on', 'ICX_CERT_NOT_FOUND,Get-ExchangeCertificate']);
  assert.match(r.err, /No certificate for the domain nowhere\.example was found\./);
  const shown = await run("Get-ExchangeCertificate 0000 -ErrorAction SilentlyContinue\n$Error[0]");
  assert.match(shown.out, /^Get-ExchangeCertificate : The certificate with thumbprint 0000 was not found\.\nAt line:1 char:1\n/);
});

test('Get-Credential and New-Object PSCredential; a credential goes over the wire as $credential', async () => {
  const r = await run("$c = Get-Credential -UserName admin\n$c.UserName\nImport-ExchangeCertificate -FileData ([byte[]](1)) -Password $c.Password\n$n = New-Object System.Management.Automation.PSCredential('svc', (ConvertTo-SecureString 'x' -AsPlainText -Force)); $n.UserName", { answers: ['pw'] });
  assert.equal(r.err, '');
  assert.deepEqual(r.prompts, ['Password for user admin: ']);
  assert.deepEqual(lines(r.out).slice(-2), ['admin', 'svc']);
  assert.deepEqual(r.host.state.imported[0].password, { $secure: 'pw' });
  const { toWire } = await import('../../src/shell/runtime/wire.js');
  assert.deepEqual(toWire(r.rt.getVariable('n')), { $credential: { userName: 'svc', password: 'x' } });
});

test('ShouldContinue questions: answered Yes or No, the cmdlet is called again with answers; -Force needs none; no terminal fails clearly', async () => {
  const yes = await run(`Enable-ExchangeCertificate -Thumbprint ${NEW} -Services SMTP`, { answers: ['y'] });
  assert.equal(yes.err, '');
  assert.match(yes.out, /^\nConfirm\nOverwrite the existing default SMTP certificate\?\n\nCurrent certificate: 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678'\nReplace it with certificate: 'FFEE0011223344556677889900AABBCCDDEEFF00'\n\[Y\] Yes  \[A\] Yes to All  \[N\] No  \[L\] No to All  \[\?\] Help \(default is "Y"\): y\n$/);
  assert.doesNotMatch(yes.out, /Are you sure/);
  assert.deepEqual(yes.host.requests[1].request.answers, { OverwriteDefaultSmtpCertificate: true });
  assert.equal(yes.host.state.defaultSmtp, NEW);

  const no = await run(`Enable-ExchangeCertificate -Thumbprint ${NEW} -Services SMTP`, { answers: ['n'] });
  assert.deepEqual(no.host.requests[1].request.answers, { OverwriteDefaultSmtpCertificate: false });
  assert.equal(no.host.state.defaultSmtp, OLD);
  assert.match(no.host.state.certs[1].Services, /SMTP/, 'No skips only the question\'s step');

  const force = await run(`Enable-ExchangeCertificate -Thumbprint ${NEW} -Services SMTP -Force`);
  assert.equal(force.host.requests.length, 1);
  assert.equal(force.host.state.defaultSmtp, NEW);

  const batch = await run(`Enable-ExchangeCertificate -Thumbprint ${NEW} -Services SMTP`);
  assert.match(batch.err, /This question needs an answer, but the shell cannot prompt .* Run the command with -Force to answer Yes\./);
  assert.equal(batch.host.state.defaultSmtp, OLD);
});

test('a function\'s missing mandatory parameter is reported with the function\'s name', async () => {
  const r = await run('function Needs { param([Parameter(Mandatory=$true)][string]$Thumb) $Thumb }\nNeeds\nNeeds -Bogus 1');
  assert.match(r.err, /^Needs : Cannot process command because of one or more missing mandatory parameters: Thumb\./);
  assert.match(r.err, /FullyQualifiedErrorId : MissingMandatoryParameter,Needs\n/);
  assert.match(r.err, /FullyQualifiedErrorId : NamedParameterNotFound,Needs\n/);
  const asked = await run('function Needs { param([Parameter(Mandatory)][string]$Thumb) "got $Thumb" }\nNeeds', { answers: ['AB'] });
  assert.deepEqual(lines(asked.out).slice(-1), ['got AB']);
});
