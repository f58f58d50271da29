// The interactive shell against a real server, driven in a real terminal
// (tmux send-keys / capture-pane) as an administrator would use it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestPki, pfx, type TestPki } from '../support/pki.js';
import { AdminApi, bytes, CLI, secure, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';
import { Terminal } from '../support/terminal.js';

describe('the interactive shell against a running server, in a real terminal', () => {
  let dataDir: string;
  let ex01: ServerProcess;
  let api: AdminApi;
  let pki: TestPki;
  let term: Terminal;

  before(async () => {
    dataDir = await tempDir('repl-real');
    ex01 = await startServerProcess({ dataDir, serverName: 'EX01' });
    api = new AdminApi(ex01.url, ex01.token);
    pki = await createTestPki();
    await api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(pki.oldCert, 'pw', { withChain: true })), Password: secure('pw') });
    await api.ok('Enable-ExchangeCertificate', { Thumbprint: pki.oldCert.facts.thumbprint, Services: 'SMTP' }, { answers: { OverwriteDefaultSmtpCertificate: false } });
    const f = pki.oldCert.facts;
    await api.ok('New-SendConnector', { Name: 'Contoso Outbound', AddressSpaces: ['contoso.com'], SmartHosts: ['127.0.0.1'], TlsCertificateName: `<I>${f.issuer}<S>${f.subject}` });
    term = Terminal.start(`icx-repl-${process.pid}`, `env HOME='${dataDir}' ${process.execPath} ${CLI} shell --data ${dataDir} --server EX01`, { width: 200 });
  });

  after(async () => {
    term?.kill();
    await ex01?.stop();
    await fs.promises.rm(dataDir, { recursive: true, force: true });
  });

  it('completes, answers a confirmation, shows the refusal, and removes once the connector is cleared', async () => {
    await term.waitFor(/\[PS\] EX01> $/m);
    const tp = pki.oldCert.facts.thumbprint;

    term.type('Get-ExchangeCert');
    term.keys('Tab');
    await term.waitFor(/\[PS\] EX01> Get-ExchangeCertificate$/m);
    term.type(' | Format-Table Thumbprint,Services,Subject');
    term.keys('Enter');
    await term.waitFor(new RegExp(`${tp}\\s+\\S+\\s+CN=mail\\.contoso\\.com, O=Contoso, C=US`));

    term.type(`Remove-ExchangeCertificate -Thumb`);
    term.keys('Tab');
    await term.waitFor(/> Remove-ExchangeCertificate -Thumbprint$/m);
    term.type(` ${tp}`);
    term.keys('Enter');
    await term.waitFor(/\[Y\] Yes  \[A\] Yes to All  \[N\] No  \[L\] No to All  \[\?\] Help \(default is "Y"\):/);
    assert.match(term.screen(), new RegExp(`Remove certificate with thumbprint ${tp} from the computer's certificate store\\?`));
    term.type('Y');
    term.keys('Enter');
    const refused = await term.waitFor(/FullyQualifiedErrorId : ICX_CERT_IN_USE_SEND_CONNECTOR,Remove-ExchangeCertificate/);
    assert.match(refused.replace(/\s*\n\s*/g, ' '), /A special Rpc error occurs on server EX01: These certificates are tagged with following Send Connectors : Contoso Outbound\./);
    assert.ok((await api.ok('Get-ExchangeCertificate')).some((c) => c.Thumbprint === tp));

    term.type('Set-SendConnector "Contoso Outbound" -TlsCertificateName $null');
    term.keys('Enter');
    term.type(`Remove-ExchangeCertificate -Thumbprint ${tp}`);
    term.keys('Enter');
    await term.waitFor(/Help \(default is "Y"\):\s*$/m);
    term.type('N');
    term.keys('Enter');
    await term.waitFor(/\[PS\] EX01> $/m);
    assert.ok((await api.ok('Get-ExchangeCertificate')).some((c) => c.Thumbprint === tp), 'No keeps the certificate');

    term.type(`Remove-ExchangeCertificate -Thumbprint ${tp}`);
    term.keys('Enter');
    await term.waitFor(/Help \(default is "Y"\):\s*$/m);
    term.keys('Enter');
    await term.waitFor(/\[PS\] EX01> $/m);
    const deadline = Date.now() + 10_000;
    while ((await api.ok('Get-ExchangeCertificate')).some((c) => c.Thumbprint === tp)) {
      if (Date.now() > deadline) assert.fail(`the default answer Yes did not remove the certificate; screen:\n${term.screen()}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // A multi-line statement pasted at once: every line arrives in one read.
    term.type("if ($true) {\r'pasted ' + 2\r}\r");
    await term.waitFor(/^pasted 2\n\[PS\] EX01> $/m);

    term.type('Get-Certificat');
    term.keys('Enter');
    await term.waitFor(/The term 'Get-Certificat' is not recognized as the name of a cmdlet/);
  });
});
