// createHttpCmdletHost against a real HTTP server on a loopback socket: the
// paths, the bearer token, the JSON bodies, error answers, an unreachable
// server, and aborting a request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpCmdletHost } from '../../src/shell/host.js';
import { CMDLETS, TYPES } from './fake-host.js';

interface Seen { method: string; url: string; auth?: string; body: string }

async function withServer(handler: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void, fn: (url: string, seen: Seen[]) => Promise<void>): Promise<void> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    await fn(url, seen);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

test('lists cmdlets and invokes one with the token and the request as JSON', async () => {
  await withServer((req, body, res) => {
    if (req.url === '/api/v1/cmdlets') return json(res, 200, { cmdlets: CMDLETS, types: TYPES });
    return json(res, 200, { ok: true, cmdlet: 'Get-ExchangeCertificate', output: [{ $type: 'ExchangeCertificate', Thumbprint: 'AB' }], warnings: [], whatIf: [], errors: [] });
  }, async (url, seen) => {
    const host = createHttpCmdletHost({ url, token: 'secret-token' });
    const catalog = await host.listCmdlets();
    assert.equal(catalog.cmdlets.length, CMDLETS.length);
    const res = await host.invoke('Get-ExchangeCertificate', { parameters: { Thumbprint: 'AB' }, confirmPreference: 'High' });
    assert.equal(res.ok, true);
    assert.deepEqual(res.output, [{ $type: 'ExchangeCertificate', Thumbprint: 'AB' }]);
    assert.deepEqual(seen.map((s) => [s.method, s.url, s.auth]), [
      ['GET', '/api/v1/cmdlets', 'Bearer secret-token'],
      ['POST', '/api/v1/cmdlets/Get-ExchangeCertificate', 'Bearer secret-token'],
    ]);
    assert.deepEqual(JSON.parse(seen[1].body), { parameters: { Thumbprint: 'AB' }, confirmPreference: 'High' });
  });
});

test('an error answer (4xx with ok:false) is returned as the response, not thrown', async () => {
  await withServer((_req, _body, res) => json(res, 409, {
    ok: false, cmdlet: 'Remove-ExchangeCertificate', output: [], warnings: [], whatIf: [], errors: [],
    error: { code: 'ICX_CONFIRMATION_REQUIRED', category: 'OperationStopped', message: 'Confirm', confirmation: { caption: 'Confirm', query: 'Remove?', target: 'X' } },
  }), async (url) => {
    const res = await createHttpCmdletHost({ url }).invoke('Remove-ExchangeCertificate', {});
    assert.equal(res.ok, false);
    assert.equal(res.error?.code, 'ICX_CONFIRMATION_REQUIRED');
    assert.equal(res.error?.confirmation?.query, 'Remove?');
  });
});

test('authentication failures and non-JSON answers become clear errors', async () => {
  await withServer((req, _body, res) => {
    if (req.url === '/api/v1/cmdlets') return json(res, 401, { error: { code: 'ICX_AUTH_REQUIRED', message: 'No valid credential was presented.' } });
    res.writeHead(502);
    res.end('<html>bad gateway</html>');
  }, async (url) => {
    const host = createHttpCmdletHost({ url, token: 'wrong' });
    await assert.rejects(host.listCmdlets(), (e: Error & { code?: string }) => e.code === 'ICX_AUTH_REQUIRED' && /No valid credential/.test(e.message));
    await assert.rejects(host.invoke('Get-Date', {}), /HTTP 502 with a body that is not JSON/);
  });
});

test('an unreachable server is ICX_TRANSPORT_UNREACHABLE', async () => {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  const host = createHttpCmdletHost({ url: `http://127.0.0.1:${port}` });
  await assert.rejects(host.invoke('Get-ExchangeCertificate', {}), (e: Error & { code?: string }) => e.code === 'ICX_TRANSPORT_UNREACHABLE');
});

test('aborting the signal aborts the request (Ctrl-C)', async () => {
  await withServer(() => { /* never answers */ }, async (url) => {
    const controller = new AbortController();
    const pending = createHttpCmdletHost({ url }).invoke('Get-Queue', {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(pending, (e: Error) => e.name === 'AbortError');
  });
});
