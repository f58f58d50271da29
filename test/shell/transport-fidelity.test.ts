// What an Exchange administrator sees on day one (issue 15, second pass), typed into the shell against a real
// server: Get-ReceiveConnector | Format-List with Exchange's properties in Exchange's order, the front end's
// own protocol log folder (Get-/Set-FrontendTransportService) where the Default Frontend connector writes,
// Get-MailboxTransportService, and Get-TransportService with the connectivity log settings.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBuiltins } from '../../src/shell/builtins/index.js';
import { createHttpCmdletHost } from '../../src/shell/host.js';
import { Runtime } from '../../src/shell/runtime/evaluator.js';
import { readProtocolLogs } from '../../src/transport/protocol-log/index.js';
import { freePort } from '../support/smtp-tools.js';
import { startTestServer, submitMessage, type TestServer } from '../support/transport-harness.js';

/** The property names of a Format-List record, in order. */
const names = (text: string) => text.split('\n').filter((l) => /^\S[^:]*\s:/.test(l)).map((l) => l.slice(0, l.indexOf(' :')).trim());
const value = (text: string, name: string) => new RegExp(`^${name}\\s+: (.*)$`, 'm').exec(text)?.[1];
const alphabetical = (list: string[]) => [...list].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));

async function rowsIn(folder: string) {
  const rows = [];
  if (!fs.existsSync(folder)) return [];
  for await (const r of readProtocolLogs(folder)) rows.push(r);
  return rows;
}

describe("Exchange's day-one transport views in the shell, against a real server", () => {
  let s: TestServer;

  const shell = async (script: string): Promise<{ out: string; err: string }> => {
    const host = createHttpCmdletHost({ url: s.server.adminUrl, token: s.server.administratorToken ?? fs.readFileSync(s.server.tokenFile, 'utf8').trim() });
    let out = '';
    let err = '';
    const rt = new Runtime({
      host,
      catalog: await host.listCmdlets(),
      ui: { write: (t) => { out += t; }, writeError: (t) => { err += t; }, canPrompt: () => false, readLine: async () => { throw new Error('no prompt expected'); }, width: () => 250 },
      builtins: createBuiltins(),
      cwd: s.dataDir,
      env: { ...process.env },
    });
    await rt.runScript(script, {});
    return { out, err };
  };

  before(async () => {
    s = await startTestServer();
  });

  after(async () => {
    await s?.close();
  });

  it('Get-ReceiveConnector "Default Frontend EX01" | Format-List: Exchange\'s properties, its own alphabetically, then the directory object\'s, with Exchange\'s values', async () => {
    const r = await shell('Get-ReceiveConnector "Default Frontend EX01" | Format-List');
    assert.equal(r.err, '');
    const listed = names(r.out);
    assert.ok(listed.length >= 70, `${listed.length} properties`);
    const own = listed.slice(0, listed.indexOf('AdminDisplayName'));
    assert.deepEqual(own, alphabetical(own), 'the connector\'s own properties alphabetically');
    assert.deepEqual(listed.slice(listed.indexOf('AdminDisplayName')), ['AdminDisplayName', 'ExchangeVersion', 'DistinguishedName', 'Guid', 'ObjectCategory', 'ObjectClass', 'WhenChanged', 'WhenCreated', 'WhenChangedUTC', 'WhenCreatedUTC', 'OrganizationId', 'OriginatingServer', 'IsValid']);
    for (const name of ['AdvertiseClientSettings', 'BareLinefeedRejectionEnabled', 'DeliveryStatusNotificationEnabled', 'DomainSecureEnabled', 'EightBitMimeEnabled', 'EnableAuthGSSAPI', 'EnhancedStatusCodesEnabled', 'ExtendedProtectionPolicy', 'LiveCredentialEnabled', 'LongAddressesEnabled', 'MaxAcknowledgementDelay', 'MaxLocalHopCount', 'MessageRateLimit', 'MessageRateSource', 'OrarEnabled', 'PipeliningEnabled', 'RejectReservedSecondLevelRecipientDomains', 'RejectReservedTopLevelRecipientDomains', 'RejectSingleLabelRecipientDomains', 'RequireEHLODomain', 'ServiceDiscoveryFqdn', 'SizeEnabled', 'SmtpUtf8Enabled', 'SuppressXAnonymousTls', 'TlsDomainCapabilities']) {
      assert.ok(listed.includes(name), name);
    }
    assert.equal(value(r.out, 'AuthMechanism'), 'Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer');
    assert.equal(value(r.out, 'Bindings'), `{[::]:${s.smtpPort}, 0.0.0.0:${s.smtpPort}}`);
    assert.equal(value(r.out, 'PermissionGroups'), 'AnonymousUsers, ExchangeServers, ExchangeLegacyServers');
    assert.equal(value(r.out, 'ProtocolLoggingLevel'), 'Verbose');
    assert.equal(value(r.out, 'TransportRole'), 'FrontendTransport');
    assert.equal(value(r.out, 'MaxMessageSize'), '36 MB (37,748,736 bytes)');
    assert.equal(value(r.out, 'MaxAcknowledgementDelay'), '00:00:30');
    assert.equal(value(r.out, 'MessageRateLimit'), 'Unlimited');
    assert.equal(value(r.out, 'MessageRateSource'), 'IPAddress');
    assert.equal(value(r.out, 'SizeEnabled'), 'Enabled');
    assert.equal(value(r.out, 'ExchangeVersion'), '0.1 (8.0.535.0)');
    assert.equal(value(r.out, 'ObjectClass'), '{top, msExchSmtpReceiveConnector}');
    assert.equal(value(r.out, 'IsValid'), 'True');
    assert.match(value(r.out, 'DistinguishedName') ?? '', /^CN=Default Frontend EX01,CN=SMTP Receive Connectors,CN=Protocols,CN=EX01,CN=Servers,/);
  });

  it("Set-ReceiveConnector takes no parameter for a property Interchange does not act on", async () => {
    const r = await shell('Set-ReceiveConnector "Default Frontend EX01" -ChunkingEnabled $false');
    assert.match(r.err, /ChunkingEnabled/);
  });

  it("the Default Frontend's receive log is in the front end's folder (Get-FrontendTransportService), not the Transport service's; Set-FrontendTransportService moves it", async () => {
    const fe = await shell('Get-FrontendTransportService EX01 | Format-List ReceiveProtocolLogPath,SendProtocolLogPath');
    assert.equal(fe.err, '');
    const frontendFolder = value(fe.out, 'ReceiveProtocolLogPath')!;
    assert.equal(frontendFolder, path.join(s.dataDir, 'servers', 'EX01', 'TransportRoles', 'Logs', 'FrontEnd', 'ProtocolLog', 'SmtpReceive'));
    assert.equal(value(fe.out, 'SendProtocolLogPath'), path.join(s.dataDir, 'servers', 'EX01', 'TransportRoles', 'Logs', 'FrontEnd', 'ProtocolLog', 'SmtpSend'));
    const hubFolder = value((await shell('Get-TransportService EX01 | Format-List ReceiveProtocolLogPath')).out, 'ReceiveProtocolLogPath')!;
    assert.match(hubFolder, /\/Logs\/Hub\/ProtocolLog\/SmtpReceive$/);

    await submitMessage(s.smtpPort, { messageId: '<fe-1@contoso.com>', to: 'someone@contoso.com' });
    await s.transport.flushLogs();
    const rows = await rowsIn(frontendFolder);
    assert.ok(rows.some((r) => r.connectorId === 'EX01\\Default Frontend EX01' && r.data === 'MAIL FROM:<alice@contoso.com>'), 'the session is in the front end\'s folder');
    assert.ok(fs.readdirSync(frontendFolder).every((f) => /^RECV\d{10}-\d+\.LOG$/.test(f)), 'Exchange\'s file names');
    assert.equal((await rowsIn(hubFolder)).filter((r) => r.connectorId === 'EX01\\Default Frontend EX01').length, 0, 'and not in the Hub folder');

    // A HubTransport connector logs where Get-TransportService says.
    const hubPort = await freePort();
    assert.equal((await shell(`New-ReceiveConnector -Name 'Hub Relay' -TransportRole HubTransport -Custom -Bindings 0.0.0.0:${hubPort} -RemoteIPRanges 127.0.0.1 -PermissionGroups AnonymousUsers -ProtocolLoggingLevel Verbose`)).err, '');
    await s.transport.reload();
    await submitMessage(hubPort, { messageId: '<hub-1@contoso.com>', to: 'someone@contoso.com', from: 'hub@contoso.com' });
    await s.transport.flushLogs();
    assert.ok((await rowsIn(hubFolder)).some((r) => r.connectorId === 'EX01\\Hub Relay' && r.data === 'MAIL FROM:<hub@contoso.com>'));
    assert.equal((await rowsIn(frontendFolder)).filter((r) => r.connectorId === 'EX01\\Hub Relay').length, 0);

    // A bad path changes nothing.
    const bad = await shell('Set-FrontendTransportService EX01 -ReceiveProtocolLogPath relative/folder');
    assert.match(bad.err, /ReceiveProtocolLogPath must be an absolute path/);
    assert.equal(value((await shell('Get-FrontendTransportService EX01 | Format-List ReceiveProtocolLogPath')).out, 'ReceiveProtocolLogPath'), frontendFolder);

    const moved = path.join(s.dataDir, 'fe-moved');
    const set = await shell(`Set-FrontendTransportService EX01 -ReceiveProtocolLogPath '${moved}' -ReceiveProtocolLogMaxAge 7.00:00:00`);
    assert.equal(set.err, '');
    await s.transport.reload();
    await submitMessage(s.smtpPort, { messageId: '<fe-2@contoso.com>', to: 'someone@contoso.com', from: 'moved@contoso.com' });
    await s.transport.flushLogs();
    assert.ok((await rowsIn(moved)).some((r) => r.data === 'MAIL FROM:<moved@contoso.com>'), 'new sessions log in the folder set');
    const after = await shell('Get-FrontendTransportService EX01 | Format-List ReceiveProtocolLogPath,ReceiveProtocolLogMaxAge');
    assert.equal(value(after.out, 'ReceiveProtocolLogPath'), moved);
    assert.equal(value(after.out, 'ReceiveProtocolLogMaxAge'), '7.00:00:00');
    // Get-ConnectorCertificateUsage reads the front end's folder: its warning names no unreadable folder.
    const usage = await shell('Get-ConnectorCertificateUsage -Identity "Default Frontend EX01"');
    assert.doesNotMatch(usage.err, /cannot be read/);
  });

  it("moving the Transport service's SendProtocolLogPath leaves the front end's folders where they were", async () => {
    const before = value((await shell('Get-FrontendTransportService EX01 | Format-List SendProtocolLogPath')).out, 'SendProtocolLogPath');
    const connectivity = value((await shell('Get-TransportService EX01 | Format-List ConnectivityLogPath')).out, 'ConnectivityLogPath');
    assert.equal((await shell(`Set-TransportService EX01 -SendProtocolLogPath '${path.join(s.dataDir, 'hub-send')}'`)).err, '');
    assert.equal(value((await shell('Get-FrontendTransportService EX01 | Format-List SendProtocolLogPath')).out, 'SendProtocolLogPath'), before);
    assert.equal(value((await shell('Get-TransportService EX01 | Format-List ConnectivityLogPath')).out, 'ConnectivityLogPath'), connectivity);
  });

  it('Get-FrontendTransportService, Get-MailboxTransportService and Get-TransportService | Format-List: alphabetical, connectivity log settings with Exchange\'s defaults', async () => {
    for (const cmd of ['Get-TransportService EX01', 'Get-FrontendTransportService EX01', 'Get-MailboxTransportService EX01']) {
      const r = await shell(`${cmd} | Format-List`);
      assert.equal(r.err, '', cmd);
      const listed = names(r.out);
      const own = listed.slice(0, listed.indexOf('Guid'));
      assert.deepEqual(own, alphabetical(own), `${cmd}: alphabetical`);
      assert.deepEqual(listed.slice(listed.indexOf('Guid')), ['Guid', 'WhenCreated']);
      assert.equal(value(r.out, 'ConnectivityLogEnabled'), 'True', cmd);
      assert.equal(value(r.out, 'ConnectivityLogMaxAge'), '30.00:00:00', cmd);
      assert.equal(value(r.out, 'ConnectivityLogMaxDirectorySize'), '1000 MB (1,048,576,000 bytes)', cmd);
      assert.equal(value(r.out, 'ConnectivityLogMaxFileSize'), '10 MB (10,485,760 bytes)', cmd);
    }
    const transport = (await shell('Get-TransportService EX01 | Format-List')).out;
    assert.ok(names(transport).length >= 70, `${names(transport).length} properties`);
    assert.match(value(transport, 'ConnectivityLogPath')!, /\/Logs\/Hub\/Connectivity$/);
    assert.equal(value(transport, 'MaxConnectionRatePerMinute'), '1200');
    assert.match(value(transport, 'QueueLogPath')!, /\/Logs\/Hub\/QueueViewer$/);
    assert.equal(value(transport, 'QueueLogMaxAge'), '7.00:00:00');
    assert.equal(value(transport, 'QueueLogMaxDirectorySize'), '200 MB (209,715,200 bytes)');
    const frontend = (await shell('Get-FrontendTransportService EX01 | Format-List')).out;
    assert.match(value(frontend, 'ConnectivityLogPath')!, /\/Logs\/FrontEnd\/Connectivity$/);
    const mailbox = (await shell('Get-MailboxTransportService EX01 | Format-List')).out;
    assert.match(value(mailbox, 'ReceiveProtocolLogPath')!, /\/Logs\/Mailbox\/ProtocolLog\/SmtpReceive$/);

    const set = await shell("Set-TransportService EX01 -ConnectivityLogMaxAge 10.00:00:00 -ConnectivityLogEnabled $false; Set-FrontendTransportService EX01 -ConnectivityLogMaxFileSize 20MB");
    assert.equal(set.err, '');
    const t = (await shell('Get-TransportService EX01 | Format-List Connectivity*')).out;
    assert.equal(value(t, 'ConnectivityLogMaxAge'), '10.00:00:00');
    assert.equal(value(t, 'ConnectivityLogEnabled'), 'False');
    assert.equal(value((await shell('Get-FrontendTransportService EX01 | Format-List ConnectivityLogMaxFileSize')).out, 'ConnectivityLogMaxFileSize'), '20 MB (20,971,520 bytes)');
    assert.equal(value((await shell('Get-TransportService EX01 | Format-List ConnectivityLogMaxFileSize')).out, 'ConnectivityLogMaxFileSize'), '10 MB (10,485,760 bytes)', 'each service has its own');
  });

  it('Get-Help Get-MailboxTransportService says it is read-only; there is no Set-MailboxTransportService', async () => {
    const help = await shell('Get-Help Get-MailboxTransportService -Full');
    assert.match(help.out, /There is no Set-MailboxTransportService/);
    const set = await shell('Set-MailboxTransportService EX01 -ReceiveProtocolLogPath /tmp/x');
    assert.match(set.err, /Set-MailboxTransportService/);
  });
});
