// Tab completion as a pure decision: what the token before the cursor completes to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { complete, type CompletionSource } from '../../src/shell/completion.js';
import { allParameters } from '../../src/shell/runtime/parameters.js';
import { CMDLETS } from './fake-host.js';

const source: CompletionSource = {
  commandNames: () => [...CMDLETS.map((c) => c.name), 'Format-List', 'fl', 'Where-Object'],
  parametersOf: (name) => {
    const info = CMDLETS.find((c) => c.name.toLowerCase() === name.toLowerCase());
    return info ? allParameters(info) : undefined;
  },
  variableNames: () => ['cert', 'ConfirmPreference', 'tlscertificatename'],
  memberNames: (v) => (v === 'cert' ? ['Issuer', 'Subject', 'Thumbprint'] : []),
};

const CASES: Array<[string, string, string[]]> = [
  ['Get-ExchangeCert', 'Get-ExchangeCert', ['Get-ExchangeCertificate']],
  ['get-exch', 'get-exch', ['Get-ExchangeCertificate']],
  ['Get-ExchangeCertificate | Remove-Ex', 'Remove-Ex', ['Remove-ExchangeCertificate']],
  ['$x = (Get-Send', 'Get-Send', ['Get-SendConnector']],
  ['Set-SendConnector -Tls', '-Tls', ['-TlsCertificateName', '-TlsAuthLevel']],
  ['Remove-ExchangeCertificate -Conf', '-Conf', ['-Confirm']],
  ['Get-ExchangeCertificate -E', '-E', ['-ErrorAction', '-ErrorVariable']],
  ['Set-SendConnector -TlsAuthLevel cert', 'cert', ['CertificateValidation']],
  ['Set-SendConnector -TlsA ', '', ['EncryptionOnly', 'CertificateValidation', 'DomainValidation']],
  ['Set-SendConnector -Enabled $t', '$t', ['$tlscertificatename']],
  ['Set-SendConnector -Enabled ', '', ['$true', '$false']],
  ['$tls', '$tls', ['$tlscertificatename']],
  ['"$($cert.Is', '$cert.Is', ['$cert.Issuer']],
  ['$cert.', '$cert.', ['$cert.Issuer', '$cert.Subject', '$cert.Thumbprint']],
  ['Get-Nothing -Par', '-Par', []],
];

for (const [line, token, hits] of CASES) {
  test(`completes ${JSON.stringify(line)}`, () => {
    const c = complete(line, source);
    assert.equal(c.token, token);
    assert.deepEqual(c.hits, hits);
  });
}
