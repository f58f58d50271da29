// Export-Message (issue 15): Exchange's recipe, typed into the shell against a
// running transport: a message is exported only once suspended, AssembleMessage
// writes it to an .eml file, and the message stays in its queue until resumed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createBuiltins } from '../../src/shell/builtins/index.js';
import { Runtime } from '../../src/shell/runtime/evaluator.js';
import { createHttpCmdletHost } from '../../src/shell/host.js';
import { startRecordingSink, startTestServer, submitMessage, waitFor, type TestServer } from '../support/transport-harness.js';

async function shell(s: TestServer, script: string): Promise<{ out: string; err: string }> {
  const host = createHttpCmdletHost({ url: s.api.url, token: s.api.token });
  let out = '';
  let err = '';
  const rt = new Runtime({
    host,
    catalog: await host.listCmdlets(),
    ui: { write: (t) => { out += t; }, writeError: (t) => { err += t; }, canPrompt: () => false, readLine: async () => { throw new Error('no prompt expected'); }, width: () => 200 },
    builtins: createBuiltins(),
    cwd: s.dataDir,
    env: { ...process.env },
  });
  await rt.runScript(script, {});
  return { out, err };
}

test('Export-Message refuses a message that is not suspended; suspended, it is saved by AssembleMessage as the message queued, and stays in its queue until resumed', { timeout: 60_000 }, async () => {
  const s = await startTestServer();
  const sink = await startRecordingSink();
  try {
    await s.api.ok('New-SendConnector', { Name: 'Hop', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: sink.port, DNSRoutingEnabled: false });
    await s.transport.reload();
    await submitMessage(s.smtpPort, { messageId: 'first@contoso.com', to: 'bob@fabrikam.com' });
    await waitFor('the queue exists', async () => sink.messages.length === 1);
    await s.api.ok('Suspend-Queue', { Identity: 'EX01\\[127.0.0.1]' });
    await submitMessage(s.smtpPort, { messageId: 'export-me@contoso.com', to: 'bob@fabrikam.com', subject: 'Quarterly numbers, final', body: 'Line one\r\n..dot line\r\nLine three' });
    const [m] = await waitFor('the held message', async () => (await s.api.ok('Get-Message', { Queue: 'EX01\\[127.0.0.1]' })).filter((x) => x.InternetMessageId === '<export-me@contoso.com>'));
    const id = m.Identity as string;
    assert.match(id, /^EX01\\\d+\\\d+$/);

    const refused = await s.api.invoke('Export-Message', { Identity: id });
    assert.equal(refused.ok, false);
    assert.equal(refused.error?.code, 'ICX_MESSAGE_NOT_SUSPENDED');
    assert.match(refused.error?.message ?? '', /isn't suspended\. Run Suspend-Message/);

    const eml = path.join(s.dataDir, 'export', 'export-me.eml');
    fs.mkdirSync(path.dirname(eml));
    const r = await shell(s, [
      `Suspend-Message '${id}' -Confirm:$false`,
      `Export-Message '${id}' | AssembleMessage -Path '${eml}'`,
      `(Export-Message '${id}').FileData.Length`,
    ].join('\n'));
    assert.equal(r.err, '');
    const saved = fs.readFileSync(eml);
    assert.equal(r.out.trim(), String(saved.length));
    const text = saved.toString('utf8');
    assert.match(text, /^Received: from /, 'the message as queued, with the Received header added on receipt');
    assert.match(text, /\r\nMessage-ID: <export-me@contoso\.com>\r\n/i);
    assert.match(text, /\r\nSubject: Quarterly numbers, final\r\n/);
    assert.match(text, /\r\nLine one\r\n\.dot line\r\nLine three/, 'dot-unstuffed, as stored');

    // Still there, still suspended; resumed (and the queue too), it is delivered as exported.
    const [still] = await s.api.ok('Get-Message', { Identity: id });
    assert.equal(still.Status, 'Suspended');
    await s.api.ok('Resume-Message', { Identity: id });
    await s.api.ok('Resume-Queue', { Identity: 'EX01\\[127.0.0.1]' });
    const delivered = await waitFor('the delivery', async () => sink.messages.find((x) => x.messageId === '<export-me@contoso.com>'));
    assert.ok(delivered.raw.includes(text.slice(text.search(/Message-ID:/i))), 'the delivered message is the exported one');

    const missing = await shell(s, `Export-Message 'EX01\\99999'`);
    assert.match(missing.err, /The message "EX01\\99999" couldn't be found/);
    const notExport = await shell(s, `Get-Queue | AssembleMessage -Path '${path.join(s.dataDir, 'x.eml')}'`);
    assert.match(notExport.err, /AssembleMessage takes the output of Export-Message/);
    assert.equal(fs.existsSync(path.join(s.dataDir, 'x.eml')), false, 'nothing written');
  } finally {
    await s.close();
    await sink.stop();
  }
});
