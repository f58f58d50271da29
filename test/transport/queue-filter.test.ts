// Get-Queue and Get-Message -Filter on a real transport with a message held in Retry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort, swaks } from '../support/smtp-tools.js';
import { startTestServer, waitFor } from '../support/transport-harness.js';

test('Get-Queue and Get-Message take OPath filters', { timeout: 120_000 }, async () => {
  const s = await startTestServer();
  try {
    const deadPort = await freePort();
    await s.api.ok('New-SendConnector', { Name: 'Nowhere', AddressSpaces: ['fabrikam.com'], SmartHosts: [`127.0.0.1:${deadPort}`] });
    await s.transport.reload();
    const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', 'bob@fabrikam.com']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const [retry] = await waitFor('the queue to go to Retry', async () => {
      const q = await s.api.ok('Get-Queue', { Filter: "Status -eq 'Retry'" });
      return q.length ? q : undefined;
    });
    assert.equal(retry.MessageCount, 1);
    assert.deepEqual(await s.api.ok('Get-Queue', { Filter: "Status -eq 'Retry' -and MessageCount -gt 1" }), []);
    assert.equal((await s.api.ok('Get-Message', { Filter: "FromAddress -like '*@contoso.com'" })).length, 1);
    assert.deepEqual(await s.api.ok('Get-Message', { Filter: "FromAddress -like '*@fabrikam.com'" }), []);
    const bad = await s.api.invoke('Get-Queue', { Filter: 'Status -or Retry' });
    assert.equal(bad.error?.code, 'ICX_PARAM_INVALID');
    assert.equal(bad.error?.parameter, 'Filter');
  } finally {
    await s.close();
  }
});
