// Exchange's documented way to let an application relay anonymously, typed
// verbatim in the shell against a running server; then SMTP shows the effect:
// the Default Frontend still refuses other domains, the Relay connector does not.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { CLI, freeTcpPort, startServerProcess, tempDir } from '../support/interchange.js';
import { RawSmtp, waitFor, waitForPort } from '../support/transport-harness.js';

const run = promisify(execFile);

async function rcpt(port: number, to: string): Promise<string> {
  const c = await RawSmtp.connect(port);
  try {
    await c.reply();
    await c.command('EHLO app.test');
    assert.match((await c.command('MAIL FROM:<app@contoso.com>'))!, /^250 /);
    return (await c.command(`RCPT TO:<${to}>`))!;
  } finally {
    c.close();
  }
}

test('the anonymous relay connector of Exchange\'s documentation, set up verbatim in the shell, relays; the Default Frontend does not', { timeout: 90_000 }, async () => {
  const dataDir = await tempDir('relay-shell');
  const smtpPort = await freeTcpPort();
  const relayPort = await freeTcpPort();
  const ex01 = await startServerProcess({ dataDir, serverName: 'EX01', smtpPort, extraArgs: ['--fqdn', 'ex01.contoso.com'], env: { INTERCHANGE_CONFIG_POLL_MS: '100' } });
  try {
    await waitForPort(smtpPort);
    const script = path.join(dataDir, 'relay.ps1');
    await fs.promises.writeFile(
      script,
      [
        `New-ReceiveConnector -Name "Anonymous Relay" -TransportRole FrontendTransport -Custom -Bindings 0.0.0.0:${relayPort} -RemoteIPRanges 127.0.0.1`,
        'Set-ReceiveConnector "Anonymous Relay" -PermissionGroups AnonymousUsers',
        'Get-ReceiveConnector "Anonymous Relay" | Add-ADPermission -User "NT AUTHORITY\\ANONYMOUS LOGON" -ExtendedRights "ms-Exch-SMTP-Accept-Any-Recipient"',
        'Get-ADPermission "Anonymous Relay" | where {$_.ExtendedRights -like "ms-Exch-SMTP-Accept-Any-Recipient"} | Format-Table Identity,User,Deny -AutoSize',
        'Get-AcceptedDomain',
      ].join('\n'),
    );
    const { stdout } = await run(process.execPath, [CLI, 'shell', '--data', dataDir, '--server', 'EX01', '-NonInteractive', '-File', script], { timeout: 60_000 });
    assert.match(stdout, /EX01\\Anonymous Relay NT AUTHORITY\\ANONYMOUS LOGON False/);
    assert.match(stdout, /contoso\.com +contoso\.com +Authoritative +True/);

    await waitForPort(relayPort);
    const refused = '550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain';
    assert.equal(await rcpt(smtpPort, 'kim@fabrikam.com'), refused);
    assert.match(await rcpt(smtpPort, 'kim@contoso.com'), /^250 /);
    // The running transport takes each of the script's changes at its next configuration poll.
    await waitFor('the relay grant in effect', async () => /^250 /.test(await rcpt(relayPort, 'kim@fabrikam.com').catch(() => '')));
  } finally {
    await ex01.stop();
    await fs.promises.rm(dataDir, { recursive: true, force: true });
  }
});
