// Names that could forge a log line, disguise themselves on screen, or make an
// identity ambiguous are refused; `Server\Name` finds the connector Exchange would.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkObjectName } from '../../src/organization/object-name.js';
import { AdminApi, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';

it('object names: control, bidirectional and zero-width characters and the identity separator are refused', () => {
  for (const bad of ['Out\r\nInjected', 'Out\u0000', 'Out\u0085', 'Evil\u202Egnp.exe', 'A\u200Bb', 'EX01\\Out', '', ' ', 'x'.repeat(65)]) {
    assert.throws(() => checkObjectName(bad), (e: { code: string; parameter: string }) => e.code === 'ICX_PARAM_INVALID' && e.parameter === 'Name', JSON.stringify(bad));
  }
  for (const good of ['Contoso Outbound', 'Ünïcödé Relay', 'Out (backup) #2', 'x'.repeat(64)]) assert.equal(checkObjectName(` ${good} `), good);
});

describe('names through the cmdlets', () => {
  let ex01: ServerProcess;
  let api: AdminApi;
  before(async () => {
    ex01 = await startServerProcess({ dataDir: await tempDir('object-names'), serverName: 'EX01' });
    api = new AdminApi(ex01.url, ex01.token);
  });
  after(() => ex01?.stop());

  it('New- and Set- refuse such names and change nothing', async () => {
    const r = await api.invoke('New-SendConnector', { Name: 'Out\r\n2026-01-01T00:00:00Z,forged', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'] });
    assert.equal(r.error?.code, 'ICX_PARAM_INVALID');
    assert.match(r.error!.message, /U\+000D/);
    assert.deepEqual(await api.ok('Get-SendConnector'), []);
    await api.ok('New-SendConnector', { Name: 'Out', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'] });
    assert.equal((await api.invoke('Set-SendConnector', { Identity: 'Out', Name: 'Out\u202E' })).error?.code, 'ICX_PARAM_INVALID');
    assert.equal((await api.invoke('New-AcceptedDomain', { Name: 'a\u0007', DomainName: 'fabrikam.com' })).error?.code, 'ICX_PARAM_INVALID');
    assert.equal((await api.invoke('New-AdministratorCredential', { Name: 'ops\nroot', RoleGroup: ['Organization Management'] })).error?.code, 'ICX_PARAM_INVALID');
    assert.deepEqual((await api.ok('Get-SendConnector')).map((c) => c.Name), ['Out']);
  });

  it('EX01\\Out names the connector Out; a server part that is no server finds nothing', async () => {
    assert.equal((await api.ok('Get-SendConnector', { Identity: 'EX01\\Out' }))[0].Name, 'Out');
    assert.equal((await api.invoke('Get-SendConnector', { Identity: 'NOSUCHSERVER\\Out' })).error?.code, 'ICX_OBJECT_NOT_FOUND');
  });

  it("a Send connector's properties come in Exchange's Format-List order, with Exchange's values for those Interchange has no use for, and no Usage", async () => {
    const [out] = await api.ok('Get-SendConnector', { Identity: 'Out' });
    const names = Object.keys(out).filter((k) => k !== '$type');
    const own = names.slice(0, names.indexOf('Guid'));
    assert.deepEqual(own, [...own].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())), 'alphabetical, as Exchange lists them');
    assert.deepEqual(names.slice(names.indexOf('Guid')), ['Guid', 'WhenChanged', 'WhenCreated']);
    assert.equal(names.includes('Usage'), false);
    assert.deepEqual([out.ConnectorType, out.ErrorPolicies, out.HomeMTA, out.HomeMtaServerId, out.SourceIPAddress, out.FrontendProxyEnabled, out.ConnectedDomains], ['Default', 'Default', 'Microsoft MTA', 'EX01', '0.0.0.0', false, []]);
  });
});
