import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestPki, pfx } from '../support/pki.js';
import { type PostgresInstance, startPostgres } from '../support/postgres.js';
import { AdminApi, bytes, secure, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';

describe('an organization whose servers share a PostgreSQL directory from separate data folders (as on separate hosts)', () => {
  let pg: PostgresInstance;
  let host1: string;
  let host2: string;
  let ex01: ServerProcess;
  let ex02: ServerProcess;

  before(async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase('interchange');
    host1 = await tempDir('pg-host1');
    host2 = await tempDir('pg-host2');
    ex01 = await startServerProcess({ dataDir: host1, serverName: 'EX01', extraArgs: ['--directory', url] });
    // What an administrator copies to a new host: the key that seals private keys, and a credential.
    for (const f of ['keyvault.key', 'admin-token']) await fs.promises.copyFile(path.join(host1, f), path.join(host2, f));
    ex02 = await startServerProcess({ dataDir: host2, serverName: 'EX02', extraArgs: ['--directory', url] });
  });

  after(async () => {
    await ex01?.stop();
    await ex02?.stop();
    await pg?.stop();
    for (const d of [host1, host2]) if (d) await fs.promises.rm(d, { recursive: true, force: true });
  });

  it('sees one organization, acts on the other server\'s store, and enforces the guard across hosts', async () => {
    const api1 = new AdminApi(ex01.url, ex01.token);
    const api2 = new AdminApi(ex02.url, ex02.token);
    assert.deepEqual((await api2.ok('Get-ExchangeServer')).map((s) => s.Name), ['EX01', 'EX02']);
    assert.ok(!fs.existsSync(path.join(host1, 'directory.sqlite')), 'no embedded directory was created');

    const pki = await createTestPki();
    const [cert] = await api1.ok('Import-ExchangeCertificate', { Server: 'EX02', FileData: bytes(await pfx(pki.oldCert, 'pw', { withChain: true })), Password: secure('pw') });
    await api1.ok('Enable-ExchangeCertificate', { Server: 'EX02', Thumbprint: cert.Thumbprint, Services: 'SMTP' }, { answers: { OverwriteDefaultSmtpCertificate: false } });
    const [onEx02] = await api2.ok('Get-ExchangeCertificate', { Thumbprint: cert.Thumbprint });
    assert.equal(onEx02.HasPrivateKey, true);
    assert.equal(onEx02.Status, 'Valid');

    await api2.ok('New-SendConnector', { Name: 'Contoso Outbound', AddressSpaces: ['contoso.com'], SmartHosts: ['127.0.0.1'], SourceTransportServers: ['EX02'], TlsCertificateName: `<I>${cert.Issuer}<S>${cert.Subject}` });
    const refused = await api1.invoke('Remove-ExchangeCertificate', { Server: 'EX02', Thumbprint: cert.Thumbprint });
    assert.equal(refused.error?.message.startsWith('A special Rpc error occurs on server EX02: These certificates are tagged with following Send Connectors : Contoso Outbound.'), true);
    await api2.ok('Set-SendConnector', { Identity: 'Contoso Outbound', TlsCertificateName: null });
    await api1.ok('Remove-ExchangeCertificate', { Server: 'EX02', Thumbprint: cert.Thumbprint });
    assert.equal((await api2.ok('Get-ExchangeCertificate')).some((c) => c.Thumbprint === cert.Thumbprint), false);

    const stopped = await api1.ok('Stop-Service', { Name: ['MSExchangeTransport'], ComputerName: 'EX02' });
    assert.deepEqual(stopped, []);
    const [state] = await api2.ok('Get-Service', { Name: ['MSExchangeTransport'] });
    assert.equal(state.Status, 'Stopped', 'Stop-Service -ComputerName EX02 from EX01 reached EX02');
    await api1.ok('Start-Service', { Name: ['MSExchangeTransport'], ComputerName: 'EX02' });
    assert.equal((await api2.ok('Get-Service'))[0].Status, 'Running');
  });
});
