import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteDirectory } from '../../src/directory/sqlite/open-sqlite-directory.js';
import { createTestPki, pfx, type TestPki } from '../support/pki.js';
import { type AdminApi, bytes, secure, startOrganization, type TestOrganization } from '../support/interchange.js';

describe('the removal guard under concurrent connector changes', () => {
  let org: TestOrganization;
  let api1: AdminApi;
  let api2: AdminApi;
  let pki: TestPki;
  let name: string;

  before(async () => {
    org = await startOrganization('guard-race', ['EX01', 'EX02']);
    api1 = org.api('EX01');
    api2 = org.api('EX02');
    pki = await createTestPki();
    name = `<I>${pki.oldCert.facts.issuer}<S>${pki.oldCert.facts.subject}`;
    await api1.ok('New-SendConnector', { Name: 'Race', AddressSpaces: ['contoso.com'], SmartHosts: ['relay.contoso.com'], SourceTransportServers: ['EX01'] });
  });

  after(async () => {
    await org?.stop();
  });

  const install = async () => {
    const file = await pfx(pki.oldCert, 'pw', { withChain: true });
    const r = await api1.invoke('Import-ExchangeCertificate', { FileData: bytes(file), Password: secure('pw') });
    assert.ok(r.ok || r.error?.code === 'ICX_CERT_EXISTS', r.error?.message);
    await api1.ok('Enable-ExchangeCertificate', { Thumbprint: pki.oldCert.facts.thumbprint, Services: 'SMTP' }, { answers: { OverwriteDefaultSmtpCertificate: false } });
  };
  const installed = async () => (await api1.ok('Get-ExchangeCertificate')).some((c) => c.Thumbprint === pki.oldCert.facts.thumbprint);

  it('a removal waiting behind a connector change that names the certificate is refused', async () => {
    await install();
    await api1.ok('Set-SendConnector', { Identity: 'Race', TlsCertificateName: null });
    // A third writer takes the directory's write lock, as another server's Set-SendConnector would.
    const directory = await openSqliteDirectory(path.join(org.dataDir, 'directory.sqlite'));
    let removal!: Promise<unknown>;
    await directory.exclusive(async (tx) => {
      removal = api2.invoke('Remove-ExchangeCertificate', { Server: 'EX01', Thumbprint: pki.oldCert.facts.thumbprint });
      // The removal is now blocked on the lock; it must see what this transaction commits.
      await new Promise((r) => setTimeout(r, 500));
      const [connector] = await tx.listSendConnectors();
      await tx.updateSendConnector({ ...connector, tlsCertificateName: name, whenChanged: new Date(connector.whenChanged.getTime() + 1) });
    });
    await directory.close();
    const r = (await removal) as Awaited<ReturnType<AdminApi['invoke']>>;
    assert.equal(r.error?.code, 'ICX_CERT_IN_USE_SEND_CONNECTOR', 'the removal saw the connector committed while it waited');
    assert.ok(await installed());
  });

  it('random interleavings of removals and TlsCertificateName changes from two servers finish, and each outcome matches the store', async () => {
    for (let round = 0; round < 12; round++) {
      await install();
      await api1.ok('Set-SendConnector', { Identity: 'Race', TlsCertificateName: round % 2 ? name : null });
      const ops = [
        () => api1.invoke('Remove-ExchangeCertificate', { Thumbprint: pki.oldCert.facts.thumbprint }),
        () => api2.invoke('Set-SendConnector', { Identity: 'Race', TlsCertificateName: name }),
        () => api2.invoke('Set-SendConnector', { Identity: 'Race', TlsCertificateName: null }),
        () => api1.invoke('Set-SendConnector', { Identity: 'Race', TlsCertificateName: name }),
      ].sort(() => Math.random() - 0.5);
      const results = await Promise.all(ops.map((op) => op()));
      for (const r of results) {
        assert.ok(r.ok || r.error?.code === 'ICX_CERT_IN_USE_SEND_CONNECTOR', `unexpected failure: ${r.error?.code} ${r.error?.message}`);
      }
      // Ordering is proven by the test above; here: no deadlock, no failure
      // other than the guard's, and each outcome matches the store.
      const removed = results.find((r) => r.cmdlet === 'Remove-ExchangeCertificate')!;
      if (!removed.ok) assert.ok(await installed(), 'a refused removal leaves the certificate');
      else assert.ok(!(await installed()), 'a successful removal removed it');
    }
  });
});
