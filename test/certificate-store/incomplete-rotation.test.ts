import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { certificateAlerts } from '../../src/certificate-store/alerts.js';
import type { EvaluatedCertificate } from '../../src/certificate-store/certificate-store.js';
import type { CertificateStatus } from '../../src/certificates/status.js';
import type { SendConnectorRecord, ServerRecord } from '../../src/directory/records.js';
import { createTestPki, type TestCert, type TestPki } from '../support/pki.js';

// The RotationIncomplete rule of Get-ExchangeCertificateAlert, table-tested on
// the pure decision: which servers of a connector got the renewal, which did not.

let pki: TestPki;
before(async () => {
  pki = await createTestPki();
});

const now = new Date();
const installed = (server: string, cert: TestCert, opts: { status?: CertificateStatus; key?: boolean } = {}): EvaluatedCertificate =>
  ({
    record: { serverName: server, thumbprint: cert.facts.thumbprint, der: cert.der, privateKeyExportable: false } as EvaluatedCertificate['record'],
    server: { name: server } as ServerRecord,
    thumbprint: cert.facts.thumbprint,
    facts: cert.facts,
    status: opts.status ?? 'Valid',
    rootCAType: 'Registry',
    hasPrivateKey: opts.key ?? true,
    services: ['SMTP'],
  }) as EvaluatedCertificate;
const connector = (servers: string[], enabled = true): SendConnectorRecord =>
  ({ name: 'Contoso Outbound', enabled, sourceTransportServers: servers, tlsCertificateName: `<I>${pki.oldCert.facts.issuer}<S>${pki.oldCert.facts.subject}` }) as SendConnectorRecord;
const halfDone = (certs: EvaluatedCertificate[], k: SendConnectorRecord) =>
  certificateAlerts(certs, [k], now, 1)
    .filter((a) => a.kind === 'RotationIncomplete')
    .map((a) => `${a.server}:${a.thumbprint === pki.oldCert.facts.thumbprint ? 'old' : a.thumbprint}->${a.newThumbprint === pki.renewedCert.facts.thumbprint ? 'new' : a.newThumbprint}`);

describe('a rotation left half done', () => {
  const cases: Array<[string, () => EvaluatedCertificate[], string[], string[]]> = [
    ['renewal on EX01 only: EX02 still uses the old one', () => [installed('EX01', pki.oldCert), installed('EX02', pki.oldCert), installed('EX01', pki.renewedCert)], ['EX01', 'EX02'], ['EX02:old->new']],
    ['renewal everywhere, old kept: done', () => [installed('EX01', pki.oldCert), installed('EX02', pki.oldCert), installed('EX01', pki.renewedCert), installed('EX02', pki.renewedCert)], ['EX01', 'EX02'], []],
    ['no renewal anywhere', () => [installed('EX01', pki.oldCert), installed('EX02', pki.oldCert)], ['EX01', 'EX02'], []],
    ['the renewal on EX02 has no key: not usable there yet', () => [installed('EX01', pki.oldCert), installed('EX02', pki.oldCert), installed('EX01', pki.renewedCert), installed('EX02', pki.renewedCert, { key: false })], ['EX01', 'EX02'], ['EX02:old->new']],
    ['the only renewal is expired: nothing to finish', () => [installed('EX01', pki.oldCert), installed('EX02', pki.oldCert), installed('EX01', pki.renewedCert, { status: 'DateInvalid' })], ['EX01', 'EX02'], []],
    ['EX03 has neither: MissingOnSourceServer covers it, not this rule', () => [installed('EX01', pki.oldCert), installed('EX02', pki.oldCert), installed('EX01', pki.renewedCert)], ['EX01', 'EX02', 'EX03'], ['EX02:old->new']],
    ['another subject on the server does not count as the old certificate', () => [installed('EX01', pki.renewedCert), installed('EX02', pki.wildcard)], ['EX01', 'EX02'], []],
    ['a server outside the connector is not its business', () => [installed('EX01', pki.oldCert), installed('EX02', pki.oldCert), installed('EX01', pki.renewedCert)], ['EX01'], []],
  ];
  for (const [name, certs, servers, expected] of cases) {
    it(name, () => assert.deepEqual(halfDone(certs(), connector(servers)), expected));
  }

  it('gives the command that finishes it, and a disabled connector raises nothing', () => {
    const certs = [installed('EX01', pki.oldCert), installed('EX02', pki.oldCert), installed('EX01', pki.renewedCert)];
    const [alert] = certificateAlerts(certs, [connector(['EX01', 'EX02'])], now, 1).filter((a) => a.kind === 'RotationIncomplete');
    assert.equal(alert.command, `Switch-ExchangeCertificate -Thumbprint ${pki.oldCert.facts.thumbprint} -NewThumbprint ${pki.renewedCert.facts.thumbprint} -DeployToSourceServers`);
    assert.equal(alert.severity, 'Warning');
    assert.equal(alert.connector, 'Contoso Outbound');
    assert.deepEqual(halfDone(certs, connector(['EX01', 'EX02'], false)), []);
  });
});
