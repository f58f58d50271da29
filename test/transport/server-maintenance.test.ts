// Taking a server out of mail flow the way Exchange administrators do:
// Set-ServerComponentState HubTransport Draining refuses new mail with
// Exchange's 421 4.3.2 at MAIL FROM while the queued mail is still delivered;
// Active again takes mail. Test-ServiceHealth says whether the transport runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freeTcpPort } from '../support/interchange.js';
import { RawSmtp, startRecordingSink, startTestServer, submitMessage, waitFor } from '../support/transport-harness.js';

test('HubTransport Draining: new mail gets 421 4.3.2 at MAIL FROM, queued mail is delivered; Active takes mail again', { timeout: 90_000 }, async () => {
  const s = await startTestServer();
  const hopPort = await freeTcpPort();
  let sink: Awaited<ReturnType<typeof startRecordingSink>> | undefined;
  try {
    await s.api.ok('Set-TransportService', { Identity: 'EX01', TransientFailureRetryInterval: '00:00:01', OutboundConnectionFailureRetryInterval: '00:00:01' });
    await s.api.ok('New-SendConnector', { Name: 'Hop', AddressSpaces: ['*'], SmartHosts: ['127.0.0.1'], Port: hopPort, DNSRoutingEnabled: false });
    await s.transport.reload();
    const states = await s.api.ok('Get-ServerComponentState', { Identity: 'EX01' });
    assert.deepEqual(states.map((c) => [c.Component, c.State]), [['ServerWideOffline', 'Active'], ['HubTransport', 'Active'], ['FrontendTransport', 'Active'], ['Monitoring', 'Active'], ['RecoveryActionsEnabled', 'Active']]);

    // Two messages wait for a next hop that is down.
    for (const id of ['queued-1@contoso.com', 'queued-2@contoso.com']) await submitMessage(s.smtpPort, { messageId: id, to: 'bob@fabrikam.com' });
    await waitFor('two messages in Retry', async () => (await s.api.ok('Get-Queue', {})).some((q) => q.Status === 'Retry' && q.MessageCount === 2));

    const refused = await s.api.invoke('Set-ServerComponentState', { Identity: 'EX01', Component: 'ServerWideOffline', State: 'Draining', Requester: 'Maintenance' });
    assert.equal(refused.error?.code, 'ICX_PARAM_INVALID');
    assert.match(refused.error!.message, /Draining applies only to HubTransport and FrontendTransport/);

    await s.api.ok('Set-ServerComponentState', { Identity: 'EX01', Component: 'HubTransport', State: 'Draining', Requester: 'Maintenance' });
    const [hub] = await s.api.ok('Get-ServerComponentState', { Identity: 'EX01', Component: 'HubTransport' });
    assert.equal(hub.State, 'Draining');
    assert.equal(hub.Server, 'ex01.contoso.com');
    assert.match(hub.LocalStates[0], /^Maintenance=Draining \(/);
    await s.transport.reload();

    const c = await RawSmtp.connect(s.smtpPort);
    assert.match((await c.reply()) ?? '', /^220 /);
    assert.match((await c.command('EHLO client.test')) ?? '', /^250/);
    assert.equal(await c.command('MAIL FROM:<alice@contoso.com>'), '421 4.3.2 Service not available');
    assert.equal(await c.reply(), undefined, 'the server closes the session');
    c.close();

    // What it holds goes on: the next hop comes back and gets both, once each.
    sink = await startRecordingSink(hopPort);
    await waitFor('both queued messages delivered while draining', async () => sink!.messages.length >= 2, 30_000);
    assert.deepEqual(sink.messages.map((m) => m.messageId).sort(), ['<queued-1@contoso.com>', '<queued-2@contoso.com>']);

    // Another requester's Active does not override Maintenance's Draining; Maintenance's Active does.
    await s.api.ok('Set-ServerComponentState', { Identity: 'EX01', Component: 'HubTransport', State: 'Active', Requester: 'HealthApi' });
    assert.equal((await s.api.ok('Get-ServerComponentState', { Identity: 'EX01', Component: 'HubTransport' }))[0].State, 'Draining');
    await s.api.ok('Set-ServerComponentState', { Identity: 'EX01', Component: 'HubTransport', State: 'Active', Requester: 'Maintenance' });
    await s.transport.reload();
    await submitMessage(s.smtpPort, { messageId: 'after@contoso.com', to: 'bob@fabrikam.com' });
    await waitFor('mail accepted and delivered after Active', async () => sink!.messages.some((m) => m.messageId === '<after@contoso.com>'), 30_000);

    // The whole server offline takes HubTransport with it.
    await s.api.ok('Set-ServerComponentState', { Identity: 'EX01', Component: 'ServerWideOffline', State: 'Inactive', Requester: 'Maintenance' });
    assert.equal((await s.api.ok('Get-ServerComponentState', { Identity: 'EX01', Component: 'HubTransport' }))[0].State, 'Inactive');
    await s.transport.reload();
    const d = await RawSmtp.connect(s.smtpPort);
    await d.reply();
    await d.command('EHLO client.test');
    assert.equal(await d.command('MAIL FROM:<alice@contoso.com>'), '421 4.3.2 Service not available');
    d.close();
  } finally {
    await s.close();
    await sink?.stop();
  }
});

test('Test-ServiceHealth: the required services of the server, running or not', { timeout: 60_000 }, async () => {
  const s = await startTestServer();
  try {
    const [up] = await s.api.ok('Test-ServiceHealth', {});
    assert.deepEqual([up.Role, up.RequiredServicesRunning, up.ServicesRunning, up.ServicesNotRunning, up.DirectoryAvailable], ['Mailbox Server Role', true, ['MSExchangeTransport'], [], true]);
    await s.api.ok('Stop-Service', { Name: ['MSExchangeTransport'] });
    const [down] = await s.api.ok('Test-ServiceHealth', { Server: 'EX01' });
    assert.deepEqual([down.RequiredServicesRunning, down.ServicesRunning, down.ServicesNotRunning], [false, [], ['MSExchangeTransport']]);
  } finally {
    await s.close();
  }
});
