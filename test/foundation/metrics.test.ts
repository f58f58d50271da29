// Prometheus metrics on the admin port (docs/metrics.md): Debian's Prometheus
// scrapes a real server with a view-only bearer credential, and its query API
// returns a queue held by a next hop that defers, a certificate's remaining
// seconds, a Send connector whose TlsCertificateName selects nothing, and the
// alert rules of docs/prometheus-alerts.yml evaluated against those series.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AdminApi, REPO_ROOT, freeTcpPort, startServerProcess, tempDir, type ServerProcess } from '../support/interchange.js';
import { startPostfixNextHop, type PostfixNextHop } from '../support/postfix.js';
import { opensslSClientStartTls, runProcess } from '../support/smtp-tools.js';
import { allowAnonymousRelay, submitMessage, waitFor } from '../support/transport-harness.js';

const ALERTS = path.join(REPO_ROOT, 'docs', 'prometheus-alerts.yml');

const submit = (smtpPort: number, id: string, to: string) => submitMessage(smtpPort, { messageId: id, to });

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(promUrl: string, expr: string): Promise<Sample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; data?: { resultType: string; result: Sample[] }; error?: string };
  assert.equal(body.status, 'success', `${expr}: ${body.error}`);
  return body.data!.result;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

test('the alert rules file is valid for promtool', async () => {
  const r = await runProcess('promtool', ['check', 'rules', ALERTS]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: \d+ rules found/);
});

test('Prometheus scrapes /metrics with a view-only credential: queue length, certificate seconds until NotAfter, a connector that would send 454 4.7.5, and the example alerts', { timeout: 180_000 }, async () => {
  const dataDir = await tempDir('metrics');
  const promDir = await tempDir('prometheus');
  let server: ServerProcess | undefined;
  let hop: PostfixNextHop | undefined;
  let prometheus: ChildProcess | undefined;
  let promLog = '';
  try {
    // A next hop that answers every RCPT with 450: the message stays queued on EX01.
    hop = await startPostfixNextHop({ port: await freeTcpPort(), mainCf: { smtpd_relay_restrictions: 'defer', smtpd_recipient_restrictions: 'defer' } });
    server = await startServerProcess({ dataDir, serverName: 'EX01', env: { INTERCHANGE_CONFIG_POLL_MS: '200' } });
    const admin = new AdminApi(server.url, server.token);
    await admin.ok('Set-TransportService', { Identity: 'EX01', TransientFailureRetryInterval: '00:00:05', OutboundConnectionFailureRetryInterval: '00:00:05' });
    await admin.ok('New-SendConnector', { Name: 'Deferring Hop', AddressSpaces: ['fabrikam.com'], SmartHosts: ['127.0.0.1'], Port: hop.port, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'] });
    await admin.ok('New-SendConnector', { Name: 'Missing Certificate', AddressSpaces: ['tailspintoys.com'], SmartHosts: ['127.0.0.1'], Port: hop.port, DNSRoutingEnabled: false, SourceTransportServers: ['EX01'], TlsCertificateName: '<I>CN=Nobody<S>CN=Nobody' });
    await allowAnonymousRelay(admin, 'Default Frontend EX01', server.smtpPort);

    // Without a credential, or with a wrong one, nothing is shown; a role that may not read the configuration is refused.
    const anonymous = await fetch(`${server.url}/metrics`);
    const anonymousBody = await anonymous.text();
    assert.equal(anonymous.status, 401);
    assert.doesNotMatch(anonymousBody, /interchange_/);
    const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer icx_not-a-token' } });
    assert.equal(wrong.status, 401);
    assert.doesNotMatch(await wrong.text(), /interchange_/);
    const [recipients] = await admin.ok('New-AdministratorCredential', { Name: 'recipients', RoleGroup: ['Recipient Management'] });
    const refused = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${recipients.Token}` } });
    assert.equal(refused.status, 403);
    assert.doesNotMatch(await refused.text(), /interchange_/);

    // The scrape credential, as docs/metrics.md makes it.
    const [scraper] = await admin.ok('New-AdministratorCredential', { Name: 'prometheus', RoleGroup: ['View-Only Organization Management'] });
    const direct = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${scraper.Token}` } });
    assert.equal(direct.status, 200);
    assert.match(direct.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);

    await submit(server.smtpPort, 'deferred-1@contoso.com', 'bob@fabrikam.com');
    const queue = await waitFor(
      'the message waiting in the queue of the deferring hop',
      async () => (await admin.ok('Get-Queue', {})).find((q) => q.NextHopConnector !== '00000000-0000-0000-0000-000000000000' && q.MessageCount === 1 && q.DeferredMessageCount === 1),
      30_000,
    );
    // One STARTTLS session on the Receive connector, for its session and handshake counters.
    const presented = await opensslSClientStartTls(server.smtpPort);
    const [cert] = await admin.ok('Get-ExchangeCertificate', { Server: 'EX01', Thumbprint: presented.fingerprintSha1 });
    const notAfter = new Date(cert.NotAfter as string).getTime();
    assert.ok(Number.isFinite(notAfter), `NotAfter ${cert.NotAfter}`);

    const tokenFile = path.join(promDir, 'scrape-token');
    await writeFile(tokenFile, scraper.Token as string, { mode: 0o600 });
    const target = new URL(server.url).host;
    await writeFile(
      path.join(promDir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${JSON.stringify(ALERTS)}`,
        'scrape_configs:',
        '  - job_name: interchange',
        '    metrics_path: /metrics',
        '    authorization:',
        '      type: Bearer',
        `      credentials_file: ${JSON.stringify(tokenFile)}`,
        '    static_configs:',
        `      - targets: [${JSON.stringify(target)}]`,
        '',
      ].join('\n'),
    );
    // A port, a configuration and a storage folder of its own: never the packaged service's 9090 or /var/lib/prometheus.
    const promPort = await freeTcpPort();
    prometheus = spawn('prometheus', [
      `--config.file=${path.join(promDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(promDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout!.on('data', (d) => (promLog += d));
    prometheus.stderr!.on('data', (d) => (promLog += d));
    const promUrl = `http://127.0.0.1:${promPort}`;
    await waitFor('Prometheus ready', async () => prometheus!.exitCode === null && (await fetch(`${promUrl}/-/ready`).then((r) => r.ok, () => false)), 30_000).catch((e) => {
      throw new Error(`${e.message}\n${promLog}`);
    });

    const up = await waitFor('the target up', async () => (await query(promUrl, 'up{job="interchange"}')).find((s) => s.value[1] === '1'), 30_000);
    assert.equal(up.metric.instance, target);

    const queued = await waitFor('the queue length in Prometheus', async () => (await query(promUrl, 'interchange_queue_messages{server="EX01"} > 0'))[0], 30_000);
    // A delivery queue's series is named by server and next hop, which outlive the queue's QueueInteger.
    const series = `EX01\\${queue.NextHopDomain}`;
    assert.equal(queued.metric.queue, series);
    assert.equal(Number(queued.value[1]), 1);
    const [age] = await query(promUrl, `interchange_queue_oldest_message_age_seconds{queue=${JSON.stringify(series)}}`);
    assert.ok(Number(age.value[1]) > 0 && Number(age.value[1]) < 120, `oldest message age ${age.value[1]}`);

    const [remaining] = await query(promUrl, `interchange_certificate_expires_in_seconds{certificate="${cert.Thumbprint}"}`);
    assert.ok(remaining, 'the certificate has a series');
    assert.equal(remaining.metric.server, 'EX01');
    // The sample was taken at the last scrape, at most a few seconds before the query's time.
    const expected = (notAfter - remaining.value[0] * 1000) / 1000;
    assert.ok(Math.abs(Number(remaining.value[1]) - expected) < 10, `remaining ${remaining.value[1]} s, NotAfter says ${expected} s`);

    const usable = await query(promUrl, 'interchange_send_connector_certificate_usable');
    assert.deepEqual(usable.map((s) => [s.metric.connector, s.value[1]]), [['Missing Certificate', '0']]);
    assert.equal((await query(promUrl, 'interchange_directory_available{server="EX01"}'))[0]?.value[1], '1');
    // The message went to disk with an fdatasync before its 250.
    assert.ok(Number((await query(promUrl, 'interchange_spool_bytes'))[0]?.value[1]) > 0, 'spool bytes');
    assert.ok(Number((await query(promUrl, 'interchange_spool_fsync_seconds_count'))[0]?.value[1]) >= 1, 'fsyncs counted');
    assert.ok(Number((await query(promUrl, 'interchange_process_memory_bytes{kind="rss"}'))[0]?.value[1]) > 10 * 1024 * 1024, 'resident memory');
    const received = await query(promUrl, 'interchange_messages_received_total{connector="Default Frontend EX01"}');
    assert.equal(received[0]?.value[1], '1');
    const handshakes = await query(promUrl, 'interchange_tls_handshakes_total{connector="Default Frontend EX01",direction="receive"}');
    assert.equal(handshakes[0]?.value[1], '1');
    const sessions = await query(promUrl, 'interchange_smtp_sessions_total{connector="Default Frontend EX01",direction="receive"}');
    // The relay probe's, the message's and the STARTTLS one (at least: the probe may have needed more than one).
    assert.ok(Number(sessions[0]?.value[1]) >= 3, `sessions ${sessions[0]?.value[1]}`);
    const deferred = await waitFor('a deferral counted', async () => (await query(promUrl, 'interchange_messages_deferred_total{connector="Deferring Hop"} > 0'))[0], 30_000);
    assert.ok(Number(deferred.value[1]) >= 1);

    // The example rules are evaluated against these series: the connector that would send 454 4.7.5 is pending (its `for` runs).
    const alert = await waitFor('the 454 4.7.5 alert pending', async () => {
      const res = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
      return res.data.alerts.find((a) => a.labels.alertname === 'InterchangeSendConnectorCertificateMissing');
    }, 30_000);
    assert.equal(alert.labels.connector, 'Missing Certificate');
    assert.match(alert.state, /^(pending|firing)$/);
    assert.doesNotMatch(promLog, /level=error/, promLog);
  } finally {
    if (prometheus) await stopProcess(prometheus);
    await server?.stop();
    await hop?.stop();
    await rm(promDir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  }
});
