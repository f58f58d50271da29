import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { it } from 'node:test';
import type { DirectoryStore } from '../../src/directory/directory-store.js';
import { KNOWN_SCHEMA_VERSION } from '../../src/directory/migrations.js';
import type { InterchangeError } from '../../src/errors/interchange-error.js';
import { productVersion } from '../../src/product-version.js';
import { newRemoteDomain, transportConfigSettings } from '../../src/directory/records.js';
import type { CertificateRecord, AcceptedDomainRecord, MailUserRecord, SendConnectorRecord, ServerHeartbeatRecord, ServerRecord } from '../../src/directory/records.js';
import { defaultSendConnector } from '../../src/connectors/send-connector-defaults.js';
import { defaultReceiveConnector } from '../../src/cmdlets/catalog/receive-connector.js';
import { defaultTransportSettings } from '../../src/organization/bootstrap.js';

export function server(name: string): ServerRecord {
  return {
    name,
    guid: crypto.randomUUID(),
    fqdn: `${name.toLowerCase()}.contoso.com`,
    roles: ['Mailbox'],
    adminUrl: null,
    smtpPort: null,
    internalTransportCertificateThumbprint: null,
    transport: defaultTransportSettings('/tmp/x', name),
    createdAt: new Date('2026-01-02T03:04:05.678Z'),
  };
}

export function sendConnector(name: string, comment = ''): SendConnectorRecord {
  return { ...defaultSendConnector({ name, sourceServer: 'EX01', now: new Date() }), addressSpaces: [{ type: 'smtp', address: '*', cost: 1 }], comment };
}

function certificate(serverName: string, thumbprint: string): CertificateRecord {
  return {
    serverName,
    thumbprint,
    der: crypto.randomBytes(300),
    requestDer: null,
    privateKey: { sealed: 'abc' },
    friendlyName: 'Microsoft Exchange',
    services: ['SMTP'],
    privateKeyExportable: false,
    chain: [crypto.randomBytes(10)],
    createdAt: new Date(),
  };
}

/** One directory opened as often as a test likes, and reached with plain SQL as another Interchange would leave it. */
export interface SameDirectory {
  open(): Promise<DirectoryStore>;
  sql(text: string): Promise<Array<Record<string, unknown>>>;
}

/**
 * The behavior every DirectoryStore must have, whatever database is behind
 * it. Each backend's test file runs all of these against a fresh store.
 */
export function directoryConformance(open: () => Promise<DirectoryStore>, sameDirectory: () => Promise<SameDirectory>): void {
  it('refuses to open a directory a newer Interchange migrated, naming both schema versions and writing nothing', async () => {
    const dir = await sameDirectory();
    const d = await dir.open();
    await d.insertServer(server('EX01'));
    const revision = await d.revision();
    await d.close();
    // What a newer Interchange leaves: a migration this build does not have.
    await dir.sql("insert into interchange_migration (name, applied_at) values ('0099_from_a_newer_interchange', '2030-01-01T00:00:00.000Z')");
    const before = await dir.sql('select name from interchange_migration order by name');
    await assert.rejects(dir.open(), (e: InterchangeError) => {
      assert.equal(e.code, 'ICX_DIRECTORY_SCHEMA_NEWER');
      assert.match(e.message, new RegExp(`^The directory \\S+ has schema version 99 \\(0099_from_a_newer_interchange\\), newer than version ${KNOWN_SCHEMA_VERSION} of this Interchange ${productVersion().replace(/\./g, '\\.')}: a newer Interchange upgraded it`));
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
    assert.deepEqual(await dir.sql('select name from interchange_migration order by name'), before, 'no migration recorded');
    await dir.sql("delete from interchange_migration where name = '0099_from_a_newer_interchange'");
    const again = await dir.open();
    assert.equal(await again.revision(), revision, 'nothing was written');
    assert.deepEqual((await again.listServers()).map((s) => s.name), ['EX01']);
    await again.close();
  });

  it('keeps one heartbeat per server, replaced by the next, without moving the revision that makes transports reload', async () => {
    const d = await open();
    await d.insertServer(server('EX01'));
    const revision = await d.revision();
    const beat = (name: string, at: string, state: 'Running' | 'Stopped' = 'Running'): ServerHeartbeatRecord => ({
      serverName: name,
      productVersion: '1.2.3',
      lastSeen: new Date(at),
      intervalMs: 15_000,
      state,
      startedAt: new Date('2026-01-01T00:00:00.000Z'),
      host: 'host1',
      pid: 42,
      listeners: [{ connector: `Default Frontend ${name}`, binding: '0.0.0.0:25', status: 'Listening' }],
    });
    await d.recordHeartbeat(beat('EX01', '2026-01-01T00:00:15.000Z'));
    await d.recordHeartbeat(beat('EX02', '2026-01-01T00:00:16.000Z'));
    await d.recordHeartbeat(beat('ex01', '2026-01-01T00:00:30.000Z', 'Stopped'));
    assert.deepEqual(await d.listHeartbeats(), [beat('ex01', '2026-01-01T00:00:30.000Z', 'Stopped'), beat('EX02', '2026-01-01T00:00:16.000Z')]);
    assert.equal(await d.revision(), revision, 'a heartbeat is not a configuration change');
    await d.close();
  });

  it('removes a server with what is keyed by its name alone, leaving other servers and Send connectors as they were', async () => {
    const d = await open();
    for (const name of ['EX01', 'EX02']) {
      await d.insertServer(server(name));
      await d.insertCertificate(certificate(name, (name === 'EX01' ? 'C' : 'D').repeat(40)));
      await d.insertTrustedRoot({ serverName: name, thumbprint: 'E'.repeat(40), der: Buffer.from('root') });
      await d.insertReceiveConnector(defaultReceiveConnector(name, 25, new Date()));
      await d.recordHeartbeat({ serverName: name, productVersion: '1', lastSeen: new Date(), intervalMs: 1000, state: 'Stopped', startedAt: new Date(), host: 'h', pid: 1, listeners: [] });
    }
    await d.insertSendConnector({ ...sendConnector('Outbound'), sourceTransportServers: ['EX01', 'EX02'] });
    const revision = await d.revision();
    assert.equal(await d.deleteServer('ex02'), true);
    assert.ok((await d.revision()) > revision, 'removing a server is a configuration change');
    assert.deepEqual((await d.listServers()).map((s) => s.name), ['EX01']);
    assert.deepEqual((await d.listCertificates()).map((c) => c.serverName), ['EX01']);
    assert.deepEqual(await d.listTrustedRoots('EX02'), []);
    assert.equal((await d.listTrustedRoots('EX01')).length, 1);
    assert.deepEqual((await d.listReceiveConnectors()).map((c) => c.server), ['EX01']);
    assert.deepEqual((await d.listHeartbeats()).map((h) => h.serverName), ['EX01']);
    assert.deepEqual((await d.listSendConnectors())[0].sourceTransportServers, ['EX01', 'EX02']);
    assert.equal(await d.deleteServer('EX02'), false, 'a second removal finds nothing');
    await d.close();
  });

  it('migrates a directory an older Interchange left, keeping its records', async () => {
    const dir = await sameDirectory();
    const d = await dir.open();
    await d.insertServer(server('EX01'));
    await d.close();
    // The directory as the last version without server heartbeats left it.
    await dir.sql('drop table server_heartbeats');
    await dir.sql("delete from interchange_migration where name = '0004_server_heartbeats'");
    const again = await dir.open();
    assert.deepEqual((await dir.sql("select name from interchange_migration where name = '0004_server_heartbeats'")).length, 1);
    assert.deepEqual(await dir.sql('select server_key from server_heartbeats'), []);
    assert.deepEqual((await again.listServers()).map((s) => s.name), ['EX01']);
    await again.close();
  });

  it('keeps records whole: dates, buffers and nested values round-trip', async () => {
    const d = await open();
    const s = server('EX01');
    await d.insertServer(s);
    assert.deepEqual(await d.getServer('ex01'), s, 'names are looked up in any case');
    const c = certificate('EX01', 'A'.repeat(40));
    await d.insertCertificate(c);
    assert.deepEqual(await d.getCertificate('EX01', 'a'.repeat(40)), c, 'thumbprints are looked up in any case');
    await d.close();
  });

  it('raises the revision on every committed change, and only then', async () => {
    const d = await open();
    const r0 = await d.revision();
    await d.insertServer(server('EX01'));
    const r1 = await d.revision();
    assert.ok(r1 > r0);
    await d.listServers();
    assert.equal(await d.revision(), r1);
    await assert.rejects(d.exclusive(async (tx) => {
      await tx.insertSendConnector(sendConnector('A'));
      throw new Error('abort');
    }));
    assert.equal(await d.revision(), r1, 'a rolled-back transaction leaves no trace');
    assert.equal((await d.listSendConnectors()).length, 0);
    await d.close();
  });

  it('holds the same certificate on two servers as two entries', async () => {
    const d = await open();
    await d.insertServer(server('EX01'));
    await d.insertServer(server('EX02'));
    const tp = 'B'.repeat(40);
    await d.insertCertificate(certificate('EX01', tp));
    await d.insertCertificate(certificate('EX02', tp));
    assert.equal((await d.listCertificates()).length, 2);
    assert.equal(await d.deleteCertificate('EX01', tp), true);
    assert.equal(await d.getCertificate('EX01', tp), undefined);
    assert.ok(await d.getCertificate('EX02', tp));
    assert.equal(await d.deleteCertificate('EX01', tp), false);
    await d.close();
  });

  it('refuses two Send connectors with one name in different case', async () => {
    const d = await open();
    await d.insertSendConnector(sendConnector('Outbound'));
    await assert.rejects(d.insertSendConnector(sendConnector('OUTBOUND')));
    assert.equal((await d.listSendConnectors()).length, 1);
    await d.close();
  });

  it('serializes exclusive transactions: concurrent read-modify-write loses no update', async () => {
    const d = await open();
    const c = sendConnector('Counter', '0');
    await d.insertSendConnector(c);
    await Promise.all(
      Array.from({ length: 25 }, () =>
        d.exclusive(async (tx) => {
          const cur = (await tx.listSendConnectors())[0];
          await new Promise((r) => setTimeout(r, 1));
          await tx.updateSendConnector({ ...cur, comment: String(Number(cur.comment) + 1) });
        }),
      ),
    );
    assert.equal((await d.listSendConnectors())[0].comment, '25');
    await d.close();
  });

  it('fails loudly, instead of waiting forever, when code inside a transaction uses the outer store', async () => {
    const d = await open();
    await assert.rejects(
      d.exclusive(async () => {
        await d.listServers();
      }),
      /outside the transaction that holds its write lock/,
    );
    assert.deepEqual(await d.listServers(), [], 'the store still works afterwards');
    await d.close();
  });

  it('searches the admin audit log by cmdlet, caller, result and time, newest first', async () => {
    const d = await open();
    const base = { cmdletParameters: { Identity: 'x' }, objectModified: 'x', error: null, originatingServer: 'EX01' };
    await d.appendAuditLog({ ...base, runDate: new Date('2026-01-01T00:00:00Z'), caller: 'a', cmdletName: 'Set-SendConnector', succeeded: true });
    await d.appendAuditLog({ ...base, runDate: new Date('2026-01-02T00:00:00Z'), caller: 'b', cmdletName: 'Remove-ExchangeCertificate', succeeded: false, error: 'E' });
    await d.appendAuditLog({ ...base, runDate: new Date('2026-01-03T00:00:00Z'), caller: 'a', cmdletName: 'Remove-ExchangeCertificate', succeeded: true });
    assert.deepEqual((await d.searchAuditLog({})).map((e) => e.runDate.toISOString().slice(0, 10)), ['2026-01-03', '2026-01-02', '2026-01-01']);
    assert.equal((await d.searchAuditLog({ cmdlets: ['Remove-ExchangeCertificate'] })).length, 2);
    assert.equal((await d.searchAuditLog({ caller: 'a' })).length, 2);
    assert.equal((await d.searchAuditLog({ succeeded: false }))[0].error, 'E');
    assert.equal((await d.searchAuditLog({ startDate: new Date('2026-01-02T00:00:00Z') })).length, 2);
    assert.equal((await d.searchAuditLog({ resultSize: 1 })).length, 1);
    await d.close();
  });

  it('keeps mail users with a unique name and user principal name (any case), renames and deletes them', async () => {
    const d = await open();
    const now = new Date('2026-03-04T05:06:07.089Z');
    const user = (name: string, upn: string): MailUserRecord => ({
      guid: crypto.randomUUID(),
      name,
      alias: name.toLowerCase(),
      displayName: name,
      userPrincipalName: upn,
      primarySmtpAddress: upn,
      externalEmailAddress: `${name.toLowerCase()}@fabrikam.com`,
      passwordHash: 'scrypt$16384$8$1$c2FsdA==$aGFzaA==',
      whenCreated: now,
      whenChanged: now,
    });
    const alice = user('Alice', 'alice@contoso.com');
    await d.insertMailUser(alice);
    await d.insertMailUser(user('Bob', 'bob@contoso.com'));
    assert.deepEqual((await d.listMailUsers())[0], alice);
    await assert.rejects(d.insertMailUser(user('ALICE', 'other@contoso.com')), (e: { code?: string }) => e.code === 'ICX_OBJECT_EXISTS');
    await assert.rejects(d.insertMailUser(user('Carol', 'Alice@Contoso.com')), (e: { code?: string }) => e.code === 'ICX_OBJECT_EXISTS');
    await assert.rejects(d.updateMailUser({ ...alice, userPrincipalName: 'BOB@contoso.com' }), (e: { code?: string }) => e.code === 'ICX_OBJECT_EXISTS');
    await d.updateMailUser({ ...alice, name: 'Alicia' });
    assert.deepEqual((await d.listMailUsers()).map((u) => u.name), ['Alicia', 'Bob']);
    assert.equal(await d.deleteMailUser(alice.guid), true);
    assert.equal(await d.deleteMailUser(alice.guid), false);
    assert.deepEqual((await d.listMailUsers()).map((u) => u.name), ['Bob']);
    await d.close();
  });

  it('keeps the organization and its later changes', async () => {
    const d = await open();
    assert.equal(await d.getOrganization(), undefined);
    const org = { guid: crypto.randomUUID(), name: 'First Organization', createdAt: new Date('2026-03-04T05:06:07.089Z') };
    await d.createOrganization(org);
    assert.deepEqual(await d.getOrganization(), org);
    await d.updateOrganization({ ...org, acceptedDomainsInitialized: true });
    assert.deepEqual(await d.getOrganization(), { ...org, acceptedDomainsInitialized: true });
    await d.close();
  });

  it('keeps accepted domains with a unique name and domain (any case), changes and deletes them', async () => {
    const d = await open();
    const now = new Date('2026-03-04T05:06:07.089Z');
    const domain = (name: string, domainName: string): AcceptedDomainRecord => ({
      guid: crypto.randomUUID(),
      name,
      domainName,
      domainType: 'Authoritative',
      default: false,
      matchSubDomains: false,
      whenCreated: now,
      whenChanged: now,
    });
    const contoso = { ...domain('Contoso', 'contoso.com'), default: true };
    await d.insertAcceptedDomain(contoso);
    await d.insertAcceptedDomain(domain('Fabrikam', '*.fabrikam.com'));
    assert.deepEqual((await d.listAcceptedDomains())[0], contoso);
    await assert.rejects(d.insertAcceptedDomain(domain('CONTOSO', 'other.com')), (e: { code?: string }) => e.code === 'ICX_OBJECT_EXISTS');
    await assert.rejects(d.insertAcceptedDomain(domain('Other', 'Contoso.COM')), (e: { code?: string }) => e.code === 'ICX_OBJECT_EXISTS');
    await d.updateAcceptedDomain({ ...contoso, domainType: 'InternalRelay' });
    assert.equal((await d.listAcceptedDomains())[0].domainType, 'InternalRelay');
    assert.equal(await d.deleteAcceptedDomain(contoso.guid), true);
    assert.equal(await d.deleteAcceptedDomain(contoso.guid), false);
    assert.deepEqual((await d.listAcceptedDomains()).map((x) => x.domainName), ['*.fabrikam.com']);
    await d.close();
  });

  it('has the remote domain Default for * from the start; keeps others with a unique name and domain (any case), changes and deletes them', async () => {
    const d = await open();
    const [def] = await d.listRemoteDomains();
    assert.deepEqual([def.name, def.domainName, def.ndrEnabled, def.allowedOOFType, def.lineWrapSize, def.tnefEnabled], ['Default', '*', true, 'External', null, null]);
    const now = new Date('2026-03-04T05:06:07.089Z');
    const fabrikam = { ...newRemoteDomain(crypto.randomUUID(), 'Fabrikam', 'fabrikam.com', now), ndrEnabled: false, lineWrapSize: 78 };
    await d.insertRemoteDomain(fabrikam);
    await d.insertRemoteDomain(newRemoteDomain(crypto.randomUUID(), 'Tailspin', '*.tailspintoys.com', now));
    assert.deepEqual((await d.listRemoteDomains()).map((x) => x.name), ['Default', 'Fabrikam', 'Tailspin']);
    assert.deepEqual((await d.listRemoteDomains())[1], fabrikam);
    await assert.rejects(d.insertRemoteDomain(newRemoteDomain(crypto.randomUUID(), 'FABRIKAM', 'other.com', now)), (e: { code?: string }) => e.code === 'ICX_OBJECT_EXISTS');
    await assert.rejects(d.insertRemoteDomain(newRemoteDomain(crypto.randomUUID(), 'Other', 'Fabrikam.COM', now)), (e: { code?: string }) => e.code === 'ICX_OBJECT_EXISTS');
    await assert.rejects(d.updateRemoteDomain({ ...fabrikam, domainName: '*' }), (e: { code?: string }) => e.code === 'ICX_OBJECT_EXISTS');
    await d.updateRemoteDomain({ ...fabrikam, contentType: 'MimeText', autoForwardEnabled: false });
    const changed = (await d.listRemoteDomains())[1];
    assert.deepEqual([changed.contentType, changed.autoForwardEnabled], ['MimeText', false]);
    assert.equal(await d.deleteRemoteDomain(fabrikam.guid), true);
    assert.equal(await d.deleteRemoteDomain(fabrikam.guid), false);
    assert.deepEqual((await d.listRemoteDomains()).map((x) => x.domainName), ['*', '*.tailspintoys.com']);
    await d.close();
  });

  it("keeps the organization's transport settings; an organization that never set them reads Exchange's defaults", async () => {
    const d = await open();
    const org = { guid: crypto.randomUUID(), name: 'First Organization', createdAt: new Date('2026-03-04T05:06:07.089Z') };
    await d.createOrganization(org);
    const defaults = transportConfigSettings(await d.getOrganization());
    assert.deepEqual([defaults.maxSendSize, defaults.maxReceiveSize, defaults.maxRecipientEnvelopeLimit, defaults.tlsSendDomainSecureList, defaults.externalDelayDsnEnabled], [10485760, 10485760, 500, [], true]);
    const whenChanged = new Date('2026-05-06T07:08:09.010Z');
    await d.updateOrganization({ ...org, transportConfig: { maxSendSize: null, tlsSendDomainSecureList: ['fabrikam.com'], whenChanged } });
    const read = transportConfigSettings(await d.getOrganization());
    assert.deepEqual([read.maxSendSize, read.maxReceiveSize, read.tlsSendDomainSecureList, read.whenChanged], [null, 10485760, ['fabrikam.com'], whenChanged]);
    await d.close();
  });

  it('keeps administrator credentials: found by token hash, expiry and role changes kept, deleted at once', async () => {
    const d = await open();
    const admin = { id: crypto.randomUUID(), name: 'helpdesk', tokenHash: 'a'.repeat(64), roleGroups: ['View-Only Organization Management' as const], createdAt: new Date('2026-01-01T00:00:00Z') };
    await d.insertAdministrator(admin);
    assert.equal((await d.findAdministratorByTokenHash(admin.tokenHash))?.name, 'helpdesk');
    const expiresAt = new Date('2027-01-01T00:00:00.000Z');
    await d.updateAdministrator({ ...admin, expiresAt, roleGroups: ['Organization Management'] });
    const found = await d.findAdministratorByTokenHash(admin.tokenHash);
    assert.deepEqual(found?.expiresAt, expiresAt);
    assert.deepEqual(found?.roleGroups, ['Organization Management']);
    assert.equal(await d.deleteAdministrator(admin.id), true);
    assert.equal(await d.findAdministratorByTokenHash(admin.tokenHash), undefined);
    assert.equal(await d.deleteAdministrator(admin.id), false);
    await d.close();
  });

  it('keeps a Receive connector\'s limits, Unlimited as null; a connector stored before the limits existed reads with Exchange\'s defaults for its role', async () => {
    const d = await open();
    const now = new Date('2026-03-04T05:06:07.000Z');
    const set = { ...defaultReceiveConnector('EX01', 25, now), maxInboundConnection: null, maxInboundConnectionPerSource: 7, maxProtocolErrors: null, tarpitInterval: 0, connectionInactivityTimeout: 30_000, maxHeaderSize: 65536 };
    await d.insertReceiveConnector(set);
    assert.deepEqual((await d.listReceiveConnectors('EX01'))[0], set);
    const limitNames = ['connectionInactivityTimeout', 'maxInboundConnection', 'maxInboundConnectionPerSource', 'maxInboundConnectionPercentagePerSource', 'maxRecipientsPerMessage', 'maxHeaderSize', 'maxProtocolErrors', 'tarpitInterval', 'maxLogonFailures', 'authTarpitInterval'];
    const stored = (over: Record<string, unknown>) => {
      const r: Record<string, unknown> = { ...defaultReceiveConnector('EX02', 25, now), ...over };
      for (const k of limitNames) delete r[k];
      return r as never;
    };
    await d.insertReceiveConnector(stored({ name: 'Old frontend' }));
    await d.insertReceiveConnector(stored({ name: 'Old hub', transportRole: 'HubTransport', connectionTimeout: 300_000 }));
    await d.insertReceiveConnector(stored({ name: 'Old short', connectionTimeout: 120_000 }));
    const byName = new Map((await d.listReceiveConnectors('EX02')).map((c) => [c.name, c]));
    const limits = (name: string) => Object.fromEntries(['connectionTimeout', ...limitNames].map((k) => [k, (byName.get(name) as unknown as Record<string, unknown>)[k]]));
    assert.deepEqual(limits('Old frontend'), {
      connectionTimeout: 600_000,
      connectionInactivityTimeout: 300_000,
      maxInboundConnection: 5000,
      maxInboundConnectionPerSource: 20,
      maxInboundConnectionPercentagePerSource: 2,
      maxRecipientsPerMessage: 200,
      maxHeaderSize: 262_144,
      maxProtocolErrors: 5,
      tarpitInterval: 5000,
      maxLogonFailures: 3,
      authTarpitInterval: 5000,
    });
    assert.equal(byName.get('Old hub')!.connectionInactivityTimeout, 60_000, 'the hub role\'s idle time');
    assert.equal(byName.get('Old short')!.connectionInactivityTimeout, 119_000, 'kept below the ConnectionTimeout the record already had');
    await d.close();
  });
}
