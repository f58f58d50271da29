// Console output as an Exchange administrator knows it: default views from the
// ObjectTypeInfo declarations, Format-List with names and wildcards, Format-Table,
// multi-valued {a, b}, dates, Export-Csv, Out-File, ConvertTo-Json, Get-Help, Get-Command.
process.env.TZ = 'UTC';

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from './harness.js';

const NEW = 'FFEE0011223344556677889900AABBCCDDEEFF00';
const OLD = 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678';

test('Get-ExchangeCertificate uses the default table view: Thumbprint, Services, Subject', async () => {
  const r = await run('Get-ExchangeCertificate');
  assert.equal(r.out, [
    '',
    'Thumbprint                               Services Subject',
    '----------                               -------- -------',
    `${OLD} ....S..  CN=mail.contoso.com`,
    `${NEW} ...WS..  CN=mail.contoso.com`,
    '',
    '',
    '',
  ].join('\n'));
});

test('Get-SendConnector uses its default view; multi-valued properties render as {a, b}', async () => {
  const r = await run('Get-SendConnector; Get-SendConnector -Identity "Contoso Outbound" | Format-List SourceTransportServers');
  assert.equal(r.out, [
    '',
    'Identity         AddressSpaces Enabled',
    '--------         ------------- -------',
    'Contoso Outbound {SMTP:*;1}    True',
    '',
    '',
    '',
    'SourceTransportServers : {EX01, EX02}',
    '',
    '',
    '',
  ].join('\n'));
});

test('Format-List with the scenario property list pads names and shows dates as M/d/yyyy h:mm:ss tt', async () => {
  const r = await run(`Get-ExchangeCertificate -Thumbprint ${OLD} | Format-List FriendlyName,Subject,Issuer,CertificateDomains,Thumbprint,NotBefore,NotAfter`);
  const notAfter = (r.rt.getVariable('null'), undefined);
  void notAfter;
  const lines = r.out.split('\n');
  assert.deepEqual(lines.slice(0, 7), [
    '',
    'FriendlyName       : Old',
    'Subject            : CN=mail.contoso.com',
    'Issuer             : CN=Contoso CA, O=Contoso, C=US',
    'CertificateDomains : {mail.contoso.com, autodiscover.contoso.com}',
    `Thumbprint         : ${OLD}`,
    'NotBefore          : 1/11/2023 4:00:04 PM',
  ]);
  assert.match(lines[7], /^NotAfter           : \d{1,2}\/\d{1,2}\/\d{4} \d{1,2}:\d{2}:\d{2} (AM|PM)$/);
  assert.deepEqual(lines.slice(8), ['', '', '']);
});

test('Format-List Identity,*ProtocolLogPath expands the wildcard in property order', async () => {
  const r = await run('Get-TransportService | Format-List Identity,*ProtocolLogPath');
  assert.equal(r.out, [
    '',
    'Identity               : EX01',
    'ReceiveProtocolLogPath : /var/log/interchange/ProtocolLog/SmtpReceive',
    'SendProtocolLogPath    : /var/log/interchange/ProtocolLog/SmtpSend',
    '',
    '',
    '',
  ].join('\n'));
});

test('Format-List * shows every property; Format-List alone uses the default list view', async () => {
  const all = await run(`Get-ExchangeCertificate ${NEW} | Format-List *`);
  assert.match(all.out, /^\nThumbprint         : FFEE/);
  assert.match(all.out, /\nIdentity           : EX01\\FFEE/);
  assert.match(all.out, /\nServer             : EX01\n/);
  const def = await run(`Get-ExchangeCertificate ${NEW} | fl`);
  assert.match(def.out, /^\nCertificateDomains : \{mail\.contoso\.com\}\nIssuer             : CN=Contoso CA, O=Contoso, C=US\n/);
  assert.doesNotMatch(def.out, /FriendlyName/);
});

test('more than four values are cut at $FormatEnumerationLimit', async () => {
  const r = await run("[pscustomobject]@{Name='x'; Values=1,2,3,4,5} | Format-List");
  assert.match(r.out, /Values : \{1, 2, 3, 4\.\.\.\}/);
});

test('Format-Table -Property and -AutoSize; numbers align right', async () => {
  const r = await run(`Get-ExchangeCertificate | Format-Table FriendlyName,Status -AutoSize; Get-TransportService | ft Name,MaxConcurrentMailboxDeliveries`);
  assert.equal(r.out, [
    '',
    'FriendlyName Status',
    '------------ ------',
    'Old          Valid',
    'New          Valid',
    '',
    '',
    '',
    'Name MaxConcurrentMailboxDeliveries',
    '---- ------------------------------',
    'EX01                             20',
    '',
    '',
    '',
  ].join('\n'));
});

test('objects without a declared view: up to four properties as a table, more as a list; hashtables as Name/Value', async () => {
  const r = await run("[pscustomobject]@{A=1;B='x'}; 1,2,3 | Measure-Object; @{Key='v'}");
  assert.equal(r.out, [
    '',
    'A B',
    '- -',
    '1 x',
    '',
    '',
    '',
    'Count    : 3',
    'Average  :',
    'Sum      :',
    'Maximum  :',
    'Minimum  :',
    'Property :',
    '',
    '',
    '',
    'Name Value',
    '---- -----',
    'Key  v',
    '',
    '',
    '',
  ].join('\n'));
});

test('Select-Object creates objects with only the chosen properties', async () => {
  const r = await run('Get-ExchangeCertificate | Select-Object FriendlyName,Not* | Sort-Object FriendlyName');
  assert.match(r.out, /^\nFriendlyName NotBefore +NotAfter\n------------ ---------  +--------\nNew          2\/1\/2024 8:30:00 AM/);
});

test('dates alone print in the long form; strings and numbers as themselves', async () => {
  const r = await run("Get-Date -Year 2026 -Month 11 -Day 26 -Hour 23 -Minute 10 -Second 0; 'text'; 42");
  assert.equal(r.out, 'Thursday, November 26, 2026 11:10:00 PM\ntext\n42\n');
});

test('ConvertTo-Json, Export-Csv and Out-File write what PowerShell writes', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shell-out-'));
  try {
    const r = await run([
      'Get-SendConnector | Select-Object Name,Enabled | ConvertTo-Json',
      'Get-ExchangeCertificate | Select-Object FriendlyName,NotBefore | Export-Csv -Path certs.csv -NoTypeInformation',
      'Get-SendConnector | Select-Object Name | Export-Csv typed.csv',
      'Get-TransportService | Format-List Identity,*ProtocolLogPath | Out-File -FilePath paths.txt',
      "'one' | Out-File paths.txt -Append",
      "'two' > redirected.txt",
      '(Get-Content paths.txt).Count',
    ].join('\n'), { cwd: dir });
    assert.equal(r.err, '');
    assert.equal(r.out, '{\n  "Name": "Contoso Outbound",\n  "Enabled": true\n}\n7\n');
    assert.equal(await fs.readFile(path.join(dir, 'certs.csv'), 'utf8'), '"FriendlyName","NotBefore"\n"Old","1/11/2023 4:00:04 PM"\n"New","2/1/2024 8:30:00 AM"\n');
    assert.equal(await fs.readFile(path.join(dir, 'typed.csv'), 'utf8'), '#TYPE Selected.SendConnector\n"Name"\n"Contoso Outbound"\n');
    assert.equal(await fs.readFile(path.join(dir, 'paths.txt'), 'utf8'), '\nIdentity               : EX01\nReceiveProtocolLogPath : /var/log/interchange/ProtocolLog/SmtpReceive\nSendProtocolLogPath    : /var/log/interchange/ProtocolLog/SmtpSend\n\n\none\n');
    assert.equal(await fs.readFile(path.join(dir, 'redirected.txt'), 'utf8'), 'two\n');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('Set-Content and Get-Content round trip text and bytes; -Raw keeps the file whole', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shell-content-'));
  try {
    const r = await run([
      "Set-Content -Path a.txt -Value 'l1','l2'",
      'Get-Content a.txt',
      '(Get-Content a.txt -Raw).Length',
      'Set-Content b.bin -Value ([byte[]](1,2,255)) -AsByteStream',
      '(Get-Content b.bin -Encoding Byte).Count',
      'Test-Path a.txt; Test-Path nope.txt',
    ].join('\n'), { cwd: dir });
    assert.equal(r.err, '');
    assert.equal(r.out, 'l1\nl2\n6\n3\nTrue\nFalse\n');
    assert.deepEqual([...(await fs.readFile(path.join(dir, 'b.bin')))], [1, 2, 255]);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('Get-Help shows synopsis, syntax per parameter set, parameters and examples from the declarations', async () => {
  const r = await run('Get-Help Remove-ExchangeCertificate');
  assert.match(r.out, /^\nNAME\n    Remove-ExchangeCertificate\n\nSYNOPSIS\n    Removes a certificate from an Exchange server\.\n/);
  assert.match(r.out, /SYNTAX\n    Remove-ExchangeCertificate \[-Thumbprint\] <String> \[-Server <String>\] \[-Confirm\] \[-WhatIf\] \[<CommonParameters>\]\n\n    Remove-ExchangeCertificate -Identity <String> \[-Confirm\] \[-WhatIf\] \[<CommonParameters>\]\n/);
  assert.match(r.out, /    -Thumbprint <String>\n        The Thumbprint parameter\.\n\n        Required\?                    true\n        Position\?                    1\n        Default value\n        Accept pipeline input\?       True \(ByPropertyName\)/);
  assert.match(r.out, /    -WhatIf\n        Shows what would happen/);
  const ex = await run('Get-Help Get-ExchangeCertificate -Examples');
  assert.match(ex.out, /EXAMPLES\n    -------------------------- Example 1 --------------------------\n\n    Get-ExchangeCertificate \| Format-List FriendlyName,Subject,Issuer\n\n    Lists the certificates\./);
  const en = await run('Get-Help Set-SendConnector -Parameter TlsAuth*');
  assert.match(en.out, /-TlsAuthLevel \{EncryptionOnly \| CertificateValidation \| DomainValidation\}/);
  const local = await run('Get-Help where');
  assert.match(local.out, /NAME\n    Where-Object\n/);
  const none = await run('Get-Help Get-Nothing');
  assert.match(none.err, /^Get-Help : Get-Help could not find Get-Nothing in a help file in this session\./);
});

test('Get-Command lists server and local cmdlets in a table', async () => {
  const r = await run('Get-Command *-ExchangeCertificate; Get-Command fl');
  assert.equal(r.out, [
    '',
    'CommandType Name                       Version Source',
    '----------- ----                       ------- ------',
    'Cmdlet      Enable-ExchangeCertificate         Interchange',
    'Cmdlet      Get-ExchangeCertificate            Interchange',
    'Cmdlet      Import-ExchangeCertificate         Interchange',
    'Cmdlet      Remove-ExchangeCertificate         Interchange',
    '',
    '',
    '',
    'CommandType Name              Version Source',
    '----------- ----              ------- ------',
    'Alias       fl -> Format-List',
    '',
    '',
    '',
  ].join('\n'));
});

test('Get-Member lists the properties with their declared types', async () => {
  const r = await run('Get-ExchangeCertificate | Get-Member');
  assert.match(r.out, /   TypeName: ExchangeCertificate\n\nName +MemberType Definition\n/);
  assert.match(r.out, /NotAfter +Property +DateTime NotAfter \{get;\}/);
  assert.match(r.out, /CertificateDomains +Property +SmtpDomainWithSubdomains\[\] CertificateDomains \{get;\}/);
});

test('host text and pipeline output keep their order; objects of one type from a loop form one table', async () => {
  const r = await run('foreach ($c in Get-ExchangeCertificate) { Write-Host "cert:"; $c | Format-List FriendlyName }\nforeach ($n in 1..2) { [pscustomobject]@{N=$n} }');
  assert.equal(r.out, 'cert:\n\nFriendlyName : Old\n\n\ncert:\n\nFriendlyName : New\n\n\n\nN\n-\n1\n2\n\n\n');
});

test('Format-Table and Format-List take calculated properties', async () => {
  const r = await run('Get-ExchangeCertificate | Format-Table Thumbprint,@{Label="Issued";Expression={$_.NotBefore.ToString("yyyy")}}\nGet-ExchangeCertificate | fl FriendlyName,{$_.Subject.Length}');
  assert.equal(r.out, [
    '',
    'Thumbprint                               Issued',
    '----------                               ------',
    `${OLD} 2023`,
    `${NEW} 2024`,
    '', '', '',
    'FriendlyName      : Old',
    '$_.Subject.Length : 19',
    '',
    'FriendlyName      : New',
    '$_.Subject.Length : 19',
    '', '', '',
  ].join('\n'));
});

test('objects stream through the pipeline: host text and output interleave as in PowerShell', async () => {
  const r = await run('1..3 | ForEach-Object { Write-Host "a$_"; $_ }\nGet-ExchangeCertificate | ForEach-Object { Write-Host "checking $($_.FriendlyName)"; $_.FriendlyName.ToUpper() }');
  assert.equal(r.out, 'a1\n1\na2\n2\na3\n3\nchecking Old\nOLD\nchecking New\nNEW\n');
});

test('output produced before a failure in the same pipeline is shown before the error', async () => {
  const r = await run("1..3 | ForEach-Object { if ($_ -eq 3) { Get-ExchangeCertificate 0000 }; $_ }");
  assert.equal(r.out, '1\n2\n3\n');
  const stop = await run("1..3 | ForEach-Object { if ($_ -eq 2) { throw 'two' }; $_ }\n'not reached'");
  assert.equal(stop.out, '1\n');
  assert.match(stop.err, /^two\n/);
});

test('a server cmdlet runs once per pipeline object, as the objects arrive', async () => {
  const r = await run(`$ConfirmPreference = 'None'\nGet-ExchangeCertificate | ForEach-Object { Write-Host "removing $($_.FriendlyName)"; $_ } | Remove-ExchangeCertificate -WhatIf`);
  assert.equal(r.out, [
    'removing Old',
    "What if: Remove certificate with thumbprint A1B2C3D4E5F60718293A4B5C6D7E8F9012345678 from the computer's certificate store.",
    'removing New',
    "What if: Remove certificate with thumbprint FFEE0011223344556677889900AABBCCDDEEFF00 from the computer's certificate store.",
    '',
  ].join('\n'));
});

test('Group-Object shows Count, Name, Group; Import-Csv reads what Export-Csv wrote', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shell-csv-'));
  try {
    const r = await run([
      'Get-ExchangeCertificate | Group-Object Status',
      'Get-ExchangeCertificate | Select-Object FriendlyName,Subject | Export-Csv certs.csv',
      "Import-Csv certs.csv | ForEach-Object { \"$($_.FriendlyName): $($_.Subject)\" }",
    ].join('\n'), { cwd: dir });
    assert.equal(r.err, '');
    assert.equal(r.out, [
      '',
      'Count Name  Group',
      '----- ----  -----',
      '    2 Valid {EX01\\A1B2C3D4E5F60718293A4B5C6D7E8F9012345678, EX01\\FFEE0011223344556677889900AABBCCDDEEFF00}',
      '', '',
      'Old: CN=mail.contoso.com',
      'New: CN=mail.contoso.com',
      '',
    ].join('\n'));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
