// Exchange's certificate recipes typed into the shell against a real server
// (issue 15): the request saved with [System.IO.File]::WriteAllBytes and
// [System.Text.Encoding]::Unicode or with Set-Content, the renewal by pipe,
// CertificateDomains | % {$_.Address}, Format-List with AccessRules and
// Format-List * in Exchange's order.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBuiltins } from '../../src/shell/builtins/index.js';
import { Runtime } from '../../src/shell/runtime/evaluator.js';
import { createHttpCmdletHost } from '../../src/shell/host.js';
import { createTestPki, pem } from '../support/pki.js';
import { startOrganization, type TestOrganization } from '../support/interchange.js';

describe("Exchange's certificate recipes in the shell, against a real server", () => {
  let org: TestOrganization;
  let dir: string;

  const shell = async (script: string): Promise<{ out: string; err: string }> => {
    const s = org.servers[0];
    const host = createHttpCmdletHost({ url: s.url, token: s.token });
    let out = '';
    let err = '';
    const rt = new Runtime({
      host,
      catalog: await host.listCmdlets(),
      ui: { write: (t) => { out += t; }, writeError: (t) => { err += t; }, canPrompt: () => false, readLine: async () => { throw new Error('no prompt expected'); }, width: () => 200 },
      builtins: createBuiltins(),
      cwd: dir,
      env: { ...process.env },
    });
    await rt.runScript(script, {});
    return { out, err };
  };

  before(async () => {
    org = await startOrganization('certfid', ['EX01']);
    dir = org.dataDir;
  });

  after(async () => {
    await org?.stop();
  });

  it("saves the request text as Microsoft documents it, with [System.Text.Encoding]::Unicode and with Set-Content", async () => {
    const r = await shell([
      `$txtrequest = New-ExchangeCertificate -GenerateRequest -FriendlyName 'Fabrikam' -SubjectName 'C=US,O=Fabrikam,CN=mail.fabrikam.com' -DomainName mail.fabrikam.com,autodiscover.fabrikam.com`,
      `$txtrequest.GetType().FullName`,
      `[System.IO.File]::WriteAllBytes('${dir}/unicode.req', [System.Text.Encoding]::Unicode.GetBytes($txtrequest))`,
      `Set-Content -Path '${dir}/plain.req' -Value $txtrequest`,
    ].join('\n'));
    assert.equal(r.err, '');
    assert.equal(r.out, 'System.String\n');
    const unicode = fs.readFileSync(path.join(dir, 'unicode.req'));
    const text = unicode.toString('utf16le');
    assert.match(text, /^-----BEGIN NEW CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]+-----END NEW CERTIFICATE REQUEST-----\n$/);
    assert.notEqual(unicode[0], 0xff, 'GetBytes writes no byte order mark');
    assert.equal(fs.readFileSync(path.join(dir, 'plain.req'), 'utf8').trim(), text.trim());
  });

  it('renews by pipe: a request for the piped certificate, and a self-signed renewal keeping its services', async () => {
    const own = await shell("(Get-ExchangeCertificate | Where-Object Subject -eq 'CN=EX01').Thumbprint");
    const tp = own.out.trim();
    assert.match(tp, /^[0-9A-F]{40}$/);
    const req = await shell(`$r = Get-ExchangeCertificate -Thumbprint ${tp} | New-ExchangeCertificate -GenerateRequest\n(Get-ExchangeCertificate | Where-Object { $_.CertificateRequest -eq $r }) | Format-List Subject,Status,CertificateDomains`);
    assert.equal(req.err, '');
    assert.match(req.out, /Subject +: CN=EX01\nStatus +: PendingRequest\nCertificateDomains : \{EX01, ex01\.interchange\.local\}/);
    const renewed = await shell(`Get-ExchangeCertificate -Thumbprint ${tp} | New-ExchangeCertificate -Force | Format-List Subject,Services,CertificateDomains,RootCAType`);
    assert.equal(renewed.err, '');
    assert.match(renewed.out, /Subject +: CN=EX01\nServices +: IMAP, POP, IIS, SMTP\nCertificateDomains : \{EX01, ex01\.interchange\.local\}\nRootCAType +: None\n/, 'a new self-signed certificate is in no root store');
    const setup = await shell(`Get-ExchangeCertificate -Thumbprint ${tp} | Format-List RootCAType,Services`);
    assert.match(setup.out, /RootCAType : Registry\nServices +: IMAP, POP, SMTP\n/, "Setup's certificate is in the root store; IIS moved to the renewal");
  });

  it('CertificateDomains | % {$_.Address}, and the domains as plain names in lists', async () => {
    const r = await shell("(Get-ExchangeCertificate | Where-Object Subject -eq 'CN=WMSvc-EX01').CertificateDomains | % {$_.Address}\n(Get-ExchangeCertificate | Where-Object Subject -eq 'CN=WMSvc-EX01').CertificateDomains | Format-Table");
    assert.equal(r.err, '');
    assert.match(r.out, /^WMSvc-EX01\n/);
    assert.match(r.out, /IsStar IncludeSubDomains Address +Domain/);
  });

  it('imports a PEM file with its private key, which Get-Help says goes beyond Exchange', async () => {
    const help = await shell('Get-Help Import-ExchangeCertificate -Full');
    assert.match(help.out.replace(/\s+/g, ' '), /Beyond Exchange, a PEM file holding a certificate and its private key .* is installed with its key too; Exchange would need it converted to a PFX first\./);
    const pki = await createTestPki();
    const p = pem(pki.wildcard);
    fs.writeFileSync(path.join(dir, 'wildcard.pem'), p.certificate + p.privateKey);
    const r = await shell(`Import-ExchangeCertificate -FileData ([System.IO.File]::ReadAllBytes('${dir}/wildcard.pem')) | Format-List Subject,HasPrivateKey,CertificateDomains`);
    assert.equal(r.err, '');
    assert.match(r.out, /Subject +: CN=\*\.contoso\.com\nHasPrivateKey +: True\nCertificateDomains : \{\*\.contoso\.com\}/);
    const wildcard = await shell("(Get-ExchangeCertificate | Where-Object Subject -eq 'CN=*.contoso.com').CertificateDomains | ForEach-Object { \"$($_.IncludeSubDomains) $($_.Domain)\" }");
    assert.equal(wildcard.out, 'True contoso.com\n', 'a wildcard is contoso.com with its subdomains');
  });

  it("Format-List shows AccessRules first; Format-List * lists Exchange's properties in Exchange's order", async () => {
    const fl = await shell("Get-ExchangeCertificate | Where-Object { $_.Subject -eq 'CN=EX01' -and $_.Status -eq 'Valid' } | Select-Object -First 1 | Format-List");
    assert.match(fl.out, /^\nAccessRules +: \{System\.Security\.AccessControl\.CryptoKeyAccessRule, System\.Security\.AccessControl\.CryptoKeyAccessRule, System\.Security\.AccessControl\.CryptoKeyAccessRule\}\nCertificateDomains +: \{EX01, ex01\.interchange\.local\}\nHasPrivateKey +: True\nIsSelfSigned +: True\nIssuer +: CN=EX01\n/);
    const star = await shell("Get-ExchangeCertificate | Where-Object { $_.Services -like '*IIS*' } | Format-List *");
    const names = star.out.split('\n').map((l) => /^(\w+) +:/.exec(l)?.[1]).filter(Boolean);
    assert.deepEqual(names.slice(0, 14), ['AccessRules', 'CertificateDomains', 'HasPrivateKey', 'IsSelfSigned', 'Issuer', 'NotAfter', 'NotBefore', 'PublicKeySize', 'RootCAType', 'SerialNumber', 'Services', 'Status', 'Subject', 'Thumbprint']);
    for (const later of ['IISServices', 'Identity', 'KeyIdentifier', 'PrivateKeyExportable', 'ServicesStringForm', 'Archived', 'DnsNameList', 'Extensions', 'FriendlyName']) assert.ok(names.includes(later), later);
    assert.match(star.out, /Extensions +: \{System\.Security\.Cryptography\.X509Certificates\.X509\w*Extension, /);
    assert.match(star.out, /System\.Security\.Cryptography\.X509Certificates\.X509EnhancedKeyUsageExtension/);
    assert.ok(names.indexOf('Server') > names.indexOf('Version') && names.indexOf('IsCertificateAuthority') > names.indexOf('Version'), "Interchange's own properties come after Exchange's");
    assert.match(star.out, /IISServices +: \{IIS:\/\/EX01\/W3SVC\/1\}\n/);
    const rules = await shell("(Get-ExchangeCertificate | Where-Object { $_.Subject -eq 'CN=EX01' -and $_.Status -eq 'Valid' } | Select-Object -First 1).AccessRules | ForEach-Object { \"$($_.IdentityReference)=$($_.CryptoKeyRights)\" }");
    assert.equal(rules.out, 'NT AUTHORITY\\SYSTEM=FullControl\nBUILTIN\\Administrators=FullControl\nNT AUTHORITY\\NETWORK SERVICE=GenericRead\n');
  });
});
