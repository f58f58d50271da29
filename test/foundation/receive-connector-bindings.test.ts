// Bindings checked as Exchange checks them: connectors of one server may share
// an address and port only with different RemoteIPRanges, never across roles;
// and the running service says which bindings it really opened.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { bindingConflict, bindingsOverlap } from '../../src/connectors/receive-connector-rules.js';
import { defaultReceiveConnector } from '../../src/cmdlets/catalog/receive-connector.js';
import type { ReceiveConnectorRecord } from '../../src/directory/records.js';
import { AdminApi, type ServerProcess, startServerProcess, tempDir } from '../support/interchange.js';

const connector = (name: string, bindings: string[], ranges: string[], over: Partial<ReceiveConnectorRecord> = {}): ReceiveConnectorRecord => ({
  ...defaultReceiveConnector('EX01', 25, new Date()),
  guid: name,
  name,
  bindings,
  remoteIpRanges: ranges,
  ...over,
});

it('overlap: same port, and the same address or a wildcard covering it', () => {
  const b = (t: string) => ({ address: t.slice(0, t.lastIndexOf(':')), port: Number(t.slice(t.lastIndexOf(':') + 1)) });
  const table: Array<[string, string, boolean]> = [
    ['0.0.0.0:25', '0.0.0.0:25', true],
    ['0.0.0.0:25', '10.0.0.5:25', true],
    ['10.0.0.5:25', '10.0.0.6:25', false],
    ['10.0.0.5:25', '10.0.0.5:26', false],
    [':::25', '10.0.0.5:25', true],
    ['0.0.0.0:25', 'fe80::1:25', false],
  ];
  for (const [x, y, expected] of table) assert.equal(bindingsOverlap(b(x), b(y)), expected, `${x} ${y}`);
});

it('conflicts: same binding and same ranges, or the same binding in another role; different ranges may share a port', () => {
  const all = ['0.0.0.0-255.255.255.255', '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'];
  const frontend = connector('Default Frontend EX01', ['0.0.0.0:25'], all);
  assert.match(bindingConflict(connector('Copy', ['0.0.0.0:25'], [...all].reverse()), [frontend])!.message, /conflict with the settings on Receive connector "EX01\\Default Frontend EX01"\. Receive connectors assigned to the same server must have unique combinations/);
  assert.equal(bindingConflict(connector('Relay', ['0.0.0.0:25'], ['192.168.1.25']), [frontend]), undefined, "Exchange's anonymous relay connector shares port 25");
  assert.match(bindingConflict(connector('Hub', ['10.0.0.5:25'], ['192.168.1.25'], { transportRole: 'HubTransport' }), [frontend])!.message, /different Transport roles on a single server must listen on unique local IP address & port bindings/);
  assert.equal(bindingConflict(connector('Other port', ['0.0.0.0:2526'], all), [frontend]), undefined);
  assert.equal(bindingConflict(frontend, [frontend]), undefined, 'a connector never conflicts with itself');
  assert.equal(bindingConflict(connector('Elsewhere', ['0.0.0.0:25'], all, { server: 'EX02' }), [frontend]), undefined, 'other servers have their own ports');
});

describe('through the cmdlets', () => {
  let dataDir: string;
  let ex01: ServerProcess;
  let api: AdminApi;
  const holder = net.createServer();
  before(async () => {
    dataDir = await tempDir('rc-bindings');
    ex01 = await startServerProcess({ dataDir, serverName: 'EX01' });
    api = new AdminApi(ex01.url, ex01.token);
    await new Promise<void>((r) => holder.listen(0, '0.0.0.0', () => r()));
  });
  after(async () => {
    await ex01?.stop();
    await new Promise<void>((r) => holder.close(() => r()));
  });

  it('New- and Set-ReceiveConnector refuse a conflicting binding and change nothing', async () => {
    const port = ex01.smtpPort;
    const r = await api.invoke('New-ReceiveConnector', { Name: 'Twin', Bindings: [`0.0.0.0:${port}`], RemoteIPRanges: ['0.0.0.0-255.255.255.255', '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'] });
    assert.equal(r.error?.code, 'ICX_CONNECTOR_INVALID');
    assert.equal(r.error?.parameter, 'Bindings');
    assert.match(r.error!.message, /Default Frontend EX01/);
    await api.ok('New-ReceiveConnector', { Name: 'Relay', Bindings: [`0.0.0.0:${port}`], RemoteIPRanges: ['192.168.1.25'] });
    const set = await api.invoke('Set-ReceiveConnector', { Identity: 'EX01\\Relay', RemoteIPRanges: ['0.0.0.0-255.255.255.255', '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'] });
    assert.equal(set.error?.code, 'ICX_CONNECTOR_INVALID');
    const [relay] = await api.ok('Get-ReceiveConnector', { Identity: 'EX01\\Relay' });
    assert.deepEqual(relay.RemoteIPRanges, ['192.168.1.25'], 'left as it was');
  });

  it('Get-ReceiveConnector shows which bindings really listen, on this server and, asked through another, on that one; serve names what it could not open', async () => {
    const busy = (holder.address() as net.AddressInfo).port;
    await api.ok('New-ReceiveConnector', { Name: 'Blocked', Bindings: [`0.0.0.0:${busy}`], RemoteIPRanges: ['10.0.0.0/8'] });
    const status = async (identity: string, via = api) => (await via.ok('Get-ReceiveConnector', { Identity: identity }))[0].BindingStatus as string[];
    const deadline = Date.now() + 10_000;
    while ((await status('EX01\\Blocked'))[0].endsWith('Not listening') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await status('EX01\\Blocked'), [`0.0.0.0:${busy} Failed: the port is in use by another process`]);
    assert.deepEqual(await status('EX01\\Default Frontend EX01'), [`[::]:${ex01.smtpPort} Listening`, `0.0.0.0:${ex01.smtpPort} Listening`]);

    const ex02 = await startServerProcess({ dataDir, serverName: 'EX02' });
    try {
      const via02 = new AdminApi(ex02.url, ex02.token);
      assert.deepEqual(await status('EX01\\Blocked', via02), [`0.0.0.0:${busy} Failed: the port is in use by another process`], "EX02 asks EX01's transport");
    } finally {
      await ex02.stop();
    }

    await ex01.stop();
    ex01 = await startServerProcess({ dataDir, serverName: 'EX01', smtpPort: ex01.smtpPort });
    api = new AdminApi(ex01.url, ex01.token);
    const printed = ex01.output();
    assert.match(printed, new RegExp(`SMTP on \\[::\\]:${ex01.smtpPort}, 0\\.0\\.0\\.0:${ex01.smtpPort}\\.`), 'serve prints the bindings it opened');
    assert.doesNotMatch(printed.split('\n').find((l) => l.includes('admin center and API at'))!, new RegExp(`:${busy}`), 'and does not claim the one it could not');
    assert.match(printed, new RegExp(`Receive connector Blocked: 0\\.0\\.0\\.0:${busy} is not listening \\(Failed: the port is in use by another process\\)`));
    await api.ok('Set-ReceiveConnector', { Identity: 'EX01\\Blocked', Enabled: false });
    assert.deepEqual(await status('EX01\\Blocked'), [`0.0.0.0:${busy} Disabled`]);
  });
});
