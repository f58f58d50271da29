// Configuration reload that scales (issue 11): TLS material and client
// contexts are made once per certificate, not once per Send connector; a
// reload keeps the runtime of every connector it did not change; what no
// connector uses any more is dropped. Counted on the running transport's
// own cache, and checked end to end with a Postfix next hop that asks for
// the client certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toPem } from '../../src/certificates/containers.js';
import type { SendConnectorRecord } from '../../src/directory/records.js';
import { reusableSendRuntime, type SendConnectorRuntime } from '../../src/transport/service/config-snapshot.js';
import { clientContextKey, trustedRootsKey } from '../../src/transport/service/tls-material.js';
import { bytes, secure } from '../support/interchange.js';
import { createTestPki, pem, pfx, type TestCert } from '../support/pki.js';
import { startPostfixNextHop } from '../support/postfix.js';
import { freePort, swaks } from '../support/smtp-tools.js';
import { startTestServer, type TestServer } from '../support/transport-harness.js';

const tlsName = (c: TestCert) => `<I>${c.facts.issuer}<S>${c.facts.subject}`;

async function install(s: TestServer, c: TestCert): Promise<void> {
  await s.api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(c, 'pw', { withChain: true })), Password: secure('pw') });
  await s.api.ok('Enable-ExchangeCertificate', { Thumbprint: c.facts.thumbprint, Services: 'SMTP' }, { confirmed: true, answers: { OverwriteDefaultSmtpCertificate: false } });
}

const record = (over: Partial<SendConnectorRecord> = {}) => ({ guid: 'g1', name: 'A', maxMessageSize: 10, addressSpaces: [{ type: 'SMTP', address: 'a.com', cost: 1 }], ...over }) as SendConnectorRecord;
const runtime = (r: SendConnectorRecord) => ({ record: r }) as SendConnectorRuntime;

test('a Send connector keeps its runtime only when its record and its inputs are the same', () => {
  const cases: Array<[string, SendConnectorRuntime | undefined, SendConnectorRecord, boolean, boolean]> = [
    ['new connector', undefined, record(), true, false],
    ['same record, same inputs', runtime(record()), record(), true, true],
    ['same record, certificates or server changed', runtime(record()), record(), false, false],
    ['a field changed', runtime(record()), record({ maxMessageSize: 11 }), true, false],
    ['a nested field changed', runtime(record()), record({ addressSpaces: [{ type: 'SMTP', address: 'a.com', cost: 2 }] }), true, false],
    ['a Date equal in value', runtime(record({ whenChanged: new Date(5) } as never)), record({ whenChanged: new Date(5) } as never), true, true],
  ];
  for (const [name, before, r, sameInputs, expected] of cases) assert.equal(reusableSendRuntime(before, r, sameInputs), expected, name);
});

test('client contexts are keyed by certificate and the set of trusted roots, in any order', () => {
  assert.equal(trustedRootsKey([{ thumbprint: 'B' }, { thumbprint: 'A' }]), trustedRootsKey([{ thumbprint: 'A' }, { thumbprint: 'B' }]));
  assert.notEqual(trustedRootsKey([{ thumbprint: 'A' }]), trustedRootsKey([]));
  assert.equal(clientContextKey(undefined, ''), clientContextKey(undefined, ''));
  assert.notEqual(clientContextKey('T1', ''), clientContextKey(undefined, ''));
  assert.notEqual(clientContextKey('T1', 'R'), clientContextKey('T1', ''));
});

test('N Send connectors with one certificate share one client context; a reload rebuilds only the connector it changed; a certificate no connector uses any more is dropped', { timeout: 120_000 }, async () => {
  const pki = await createTestPki();
  const s = await startTestServer();
  try {
    const t = s.transport;
    await install(s, pki.oldCert);
    await t.reload();
    const builtBefore = t.tlsContexts.contextsBuilt;
    const N = 12;
    for (let i = 0; i < N; i++) {
      await s.api.ok('New-SendConnector', { Name: `Outbound ${i}`, AddressSpaces: [`d${i}.example`], SmartHosts: ['127.0.0.9'], DNSRoutingEnabled: false, TlsCertificateName: tlsName(pki.oldCert), SourceTransportServers: ['EX01'] });
    }
    await t.reload();
    const first = t.configuration();
    assert.equal(first.sendRuntime.size, N);
    const runtimes = [...first.sendRuntime.values()];
    assert.ok(runtimes.every((r) => r.clientCertificate.kind === 'named' && r.clientCertificate.material.thumbprint === pki.oldCert.facts.thumbprint));
    assert.equal(new Set(runtimes.map((r) => r.secureContext)).size, 1, 'one client context for every connector');
    // The certificate's own context (its material, first used now) and the client context: two, whatever N.
    assert.equal(t.tlsContexts.contextsBuilt - builtBefore, 2);

    // One connector changes: only it gets a new runtime; no context is built (its certificate did not change).
    const built = t.tlsContexts.contextsBuilt;
    await s.api.ok('Set-SendConnector', { Identity: 'Outbound 3', MaxMessageSize: '20MB' });
    await t.reload();
    const second = t.configuration();
    assert.ok(second.revision > first.revision);
    for (const [guid, r] of first.sendRuntime) {
      if (r.record.name === 'Outbound 3') {
        assert.notEqual(second.sendRuntime.get(guid), r);
        assert.equal(second.sendRuntime.get(guid)!.secureContext, r.secureContext, 'the same certificate: the same context');
      } else {
        assert.equal(second.sendRuntime.get(guid), r, `${r.record.name} keeps its runtime object`);
      }
    }
    assert.equal(t.tlsContexts.contextsBuilt, built);

    // A second certificate for one connector: one more context; back to the first, and the second removed: dropped again.
    await install(s, pki.wildcard);
    await s.api.ok('Set-SendConnector', { Identity: 'Outbound 5', TlsCertificateName: tlsName(pki.wildcard) });
    await t.reload();
    const third = t.configuration();
    const five = [...third.sendRuntime.values()].find((r) => r.record.name === 'Outbound 5')!;
    assert.equal(five.clientCertificate.kind === 'named' && five.clientCertificate.material.thumbprint, pki.wildcard.facts.thumbprint);
    assert.equal(new Set([...third.sendRuntime.values()].map((r) => r.secureContext)).size, 2);
    const held = t.tlsContexts.size();
    await s.api.ok('Set-SendConnector', { Identity: 'Outbound 5', TlsCertificateName: tlsName(pki.oldCert) });
    await s.api.ok('Remove-ExchangeCertificate', { Server: 'EX01', Thumbprint: pki.wildcard.facts.thumbprint });
    await t.reload();
    const after = t.tlsContexts.size();
    assert.equal(after.clientContexts, held.clientContexts - 1, 'the removed certificate\'s client context is dropped');
    assert.equal(after.materials, held.materials - 1, 'and so is its material');
    assert.equal(new Set([...t.configuration().sendRuntime.values()].map((r) => r.secureContext)).size, 1);

    // All connectors removed: nothing of theirs is held.
    for (let i = 0; i < N; i++) await s.api.ok('Remove-SendConnector', { Identity: `Outbound ${i}` }, { confirmed: true });
    await t.reload();
    assert.equal(t.configuration().sendRuntime.size, 0);
    assert.equal(t.tlsContexts.size().clientContexts, 0);
  } finally {
    await s.close();
  }
});

test('after reloads that change other connectors, mail through a Send connector still presents the certificate it names', { timeout: 240_000 }, async () => {
  const pki = await createTestPki();
  const port = await freePort();
  const hopCert = pki.viaIntermediate;
  const pf = await startPostfixNextHop({
    port,
    tls: { certPem: pem(hopCert).certificate + toPem(pki.intermediate.der, 'CERTIFICATE'), keyPem: pem(hopCert).privateKey, askClientCert: true, caPem: toPem(pki.ca.der, 'CERTIFICATE') },
  });
  const s = await startTestServer();
  const send = async (to: string) => {
    const r = await swaks(['--server', `127.0.0.1:${s.smtpPort}`, '--from', 'alice@contoso.com', '--to', to]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  };
  try {
    await install(s, pki.oldCert);
    await install(s, pki.wildcard);
    const common = { SmartHosts: ['127.0.0.1'], Port: port, DNSRoutingEnabled: false, RequireTLS: true, SourceTransportServers: ['EX01'] };
    await s.api.ok('New-SendConnector', { Name: 'To Fabrikam', AddressSpaces: ['fabrikam.com'], TlsCertificateName: tlsName(pki.oldCert), ...common });
    await s.api.ok('New-SendConnector', { Name: 'To Tailspin', AddressSpaces: ['tailspin.com'], TlsCertificateName: tlsName(pki.wildcard), ...common });
    for (let i = 0; i < 5; i++) await s.api.ok('New-SendConnector', { Name: `Other ${i}`, AddressSpaces: [`other${i}.example`], TlsCertificateName: tlsName(pki.oldCert), ...common });
    await s.transport.reload();
    await send('bob@fabrikam.com');
    await pf.waitForMessages(1, 30_000);

    // Reloads that touch every connector but these two, then one that touches a certificate they do not use.
    for (let i = 0; i < 5; i++) {
      await s.api.ok('Set-SendConnector', { Identity: `Other ${i}`, MaxMessageSize: `${10 + i}MB` });
      await s.transport.reload();
    }
    await s.api.ok('Set-SendConnector', { Identity: 'Other 0', TlsCertificateName: tlsName(pki.wildcard) });
    await s.transport.reload();
    await send('carol@tailspin.com');
    await pf.waitForMessages(2, 30_000);
    await send('dave@fabrikam.com');
    await pf.waitForMessages(3, 30_000);
    assert.deepEqual(await pf.clientCertFingerprints(), [pki.oldCert.facts.thumbprint, pki.wildcard.facts.thumbprint, pki.oldCert.facts.thumbprint]);
  } finally {
    await s.close();
    await pf.stop();
  }
});
