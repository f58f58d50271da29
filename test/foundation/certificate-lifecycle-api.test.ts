import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { signCertificateRequest } from '../../src/certificates/generate.js';
import { createTestPki, pem, pfx, type TestPki } from '../support/pki.js';
import { type AdminApi, bytes, secure, startOrganization, type TestOrganization, tempDir } from '../support/interchange.js';

const run = promisify(execFile);

describe('certificate lifecycle through the cmdlets', () => {
  let org: TestOrganization;
  let api: AdminApi;
  let pki: TestPki;

  before(async () => {
    org = await startOrganization('lifecycle', ['EX01', 'EX02']);
    api = org.api();
    pki = await createTestPki();
  });

  after(async () => {
    await org?.stop();
  });

  it('New-ExchangeCertificate makes a self-signed certificate and asks before replacing the internal transport certificate', async () => {
    const [transport] = await api.ok('Get-TransportService', { Identity: 'EX01' });
    const ask = await api.invoke('New-ExchangeCertificate', { SubjectName: 'C=US, O=Contoso, CN=smtp.contoso.com', DomainName: ['smtp.contoso.com'], FriendlyName: 'Contoso SMTP' });
    assert.equal(ask.error?.code, 'ICX_CONFIRMATION_REQUIRED');
    assert.equal(ask.error?.confirmation?.kind, 'ShouldContinue');
    assert.match(ask.error!.confirmation!.query, /^Overwrite the existing default SMTP certificate\?\n\nCurrent certificate: '[0-9A-F]{40}' \(expires \d{1,2}\/\d{1,2}\/\d{4} \d{1,2}:\d\d:\d\d [AP]M\)\nReplace it with certificate: 'the new certificate' \(expires \d{1,2}\/\d{1,2}\/\d{4} \d{1,2}:\d\d:\d\d [AP]M\)$/, "dates in the server's culture (en-US), as Exchange shows them");
    assert.deepEqual(await api.ok('Get-ExchangeCertificate', { DomainName: ['smtp.contoso.com'] }), [], 'asked before anything was created');
    const [created] = await api.ok('New-ExchangeCertificate', { SubjectName: 'C=US, O=Contoso, CN=smtp.contoso.com', DomainName: ['smtp.contoso.com'], FriendlyName: 'Contoso SMTP' }, { answers: { OverwriteDefaultSmtpCertificate: false } });
    assert.equal((await api.ok('Get-ExchangeCertificate', { DomainName: ['smtp.contoso.com'] })).length, 1, 'answering No creates one certificate');
    assert.equal(created.Subject, 'CN=smtp.contoso.com, O=Contoso, C=US', 'CN-last input is rendered CN first');
    assert.deepEqual(created.CertificateDomains, [{ $type: 'SmtpDomainWithSubdomains', IsStar: false, IncludeSubDomains: false, Address: 'smtp.contoso.com', Domain: 'smtp.contoso.com', SmtpDomain: 'smtp.contoso.com' }], "Exchange's SmtpDomainWithSubdomains");
    assert.equal(created.Services, 'IMAP, POP, SMTP');
    assert.equal(created.FriendlyName, 'Contoso SMTP');
    assert.equal((await api.ok('Get-TransportService', { Identity: 'EX01' }))[0].InternalTransportCertificateThumbprint, transport.InternalTransportCertificateThumbprint);

    const [forced] = await api.ok('New-ExchangeCertificate', { SubjectName: 'CN=relay.contoso.com', Services: 'SMTP', Force: true, KeySize: 4096 });
    assert.equal(forced.PublicKeySize, 4096);
    assert.deepEqual(forced.CertificateDomains.map((d: { Address: string }) => d.Address), ['relay.contoso.com', 'EX01', 'ex01.interchange.local']);
    assert.equal((await api.ok('Get-TransportService', { Identity: 'EX01' }))[0].InternalTransportCertificateThumbprint, forced.Thumbprint);
  });

  it('rejects a bad key size and an overlong friendly name', async () => {
    const size = await api.invoke('New-ExchangeCertificate', { KeySize: 3000, Services: 'None' });
    assert.equal(size.error?.message, '3000 is not a valid key size. Valid key sizes are 4096, 2048, and 1024.');
    const name = await api.invoke('New-ExchangeCertificate', { FriendlyName: 'x'.repeat(64), Services: 'None' });
    assert.equal(name.error?.message, 'The friendly name is too long. The maximum allowed length is 63 characters.');
  });

  it('a certificate request stays pending until the issued certificate is imported, which completes it with its key', async () => {
    const [text] = await api.ok('New-ExchangeCertificate', { GenerateRequest: true, SubjectName: 'CN=mail.fabrikam.com, O=Fabrikam, C=US', DomainName: ['mail.fabrikam.com', 'autodiscover.fabrikam.com'], PrivateKeyExportable: true });
    assert.equal(typeof text, 'string', 'the output is the request text, as in Exchange, not a certificate');
    assert.match(text as unknown as string, /^-----BEGIN NEW CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]+-----END NEW CERTIFICATE REQUEST-----\n$/);
    const pending = (await api.ok('Get-ExchangeCertificate')).find((c) => c.CertificateRequest === (text as unknown as string))!;
    assert.equal(pending.Status, 'PendingRequest');
    const request = await api.ok('Export-ExchangeCertificate', { Thumbprint: pending.Thumbprint });
    const csrText = Buffer.from(request[0].FileData.$bytes, 'base64').toString();
    assert.match(csrText, /BEGIN NEW CERTIFICATE REQUEST/);
    const csrDir = await tempDir('csr');
    await fs.promises.writeFile(path.join(csrDir, 'r.csr'), csrText);
    const { stdout } = await run('openssl', ['req', '-in', path.join(csrDir, 'r.csr'), '-noout', '-subject', '-verify']);
    assert.match(stdout, /CN\s*=\s*mail\.fabrikam\.com/);
    await fs.promises.rm(csrDir, { recursive: true, force: true });

    const issued = await signCertificateRequest({ issuer: { der: pki.ca.der, privateKeyPkcs8: pki.ca.privateKeyPkcs8 }, request: csrText });
    const [completed] = await api.ok('Import-ExchangeCertificate', { FileData: bytes(Buffer.from(pem({ der: issued.der, privateKeyPkcs8: Buffer.alloc(0) }).certificate)) });
    assert.equal(completed.HasPrivateKey, true, 'the pending request\'s key was joined to the issued certificate');
    assert.equal(completed.PrivateKeyExportable, true);
    assert.equal(completed.Subject, 'CN=mail.fabrikam.com, O=Fabrikam, C=US');
    const all = await api.ok('Get-ExchangeCertificate');
    assert.ok(!all.some((c) => c.Thumbprint === pending.Thumbprint), 'the pending request is gone');
  });

  it('-GenerateRequest -BinaryEncoded gives the DER request in FileData', async () => {
    const [binary] = await api.ok('New-ExchangeCertificate', { GenerateRequest: true, BinaryEncoded: true, SubjectName: 'CN=bin.fabrikam.com', Server: 'EX02' });
    assert.equal(binary.$type, 'BinaryFileDataObject');
    const der = Buffer.from(binary.FileData.$bytes, 'base64');
    assert.equal(der[0], 0x30, 'a DER SEQUENCE');
    const pending = (await api.ok('Get-ExchangeCertificate', { Server: 'EX02' })).find((c) => c.Status === 'PendingRequest' && c.Subject === 'CN=bin.fabrikam.com')!;
    assert.equal(binary.Identity, `ex02.interchange.local\\${pending.Thumbprint}`);
    assert.equal(pending.CertificateRequest.replace(/-----[A-Z ]+-----|\n/g, ''), der.toString('base64'));
    await api.ok('Remove-ExchangeCertificate', { Server: 'EX02', Thumbprint: pending.Thumbprint });
  });

  it('renews through -Instance (a piped certificate): a request with its subject and names, a self-signed certificate with its services, IIS included', async () => {
    const [ca] = await api.ok('Import-ExchangeCertificate', { Server: 'EX02', FileData: bytes(await pfx(pki.oldCert, 'pw', { withChain: true })), Password: secure('pw') });
    const [text] = await api.ok('New-ExchangeCertificate', { GenerateRequest: true, Instance: ca.Identity });
    const request = (await api.ok('Get-ExchangeCertificate', { Server: 'EX02' })).find((c) => c.CertificateRequest === (text as unknown as string))!;
    assert.equal(request.Subject, pki.oldCert.facts.subject, "the request is for the piped certificate's subject");
    assert.deepEqual(request.CertificateDomains.map((d: { Address: string }) => d.Address), pki.oldCert.facts.certificateDomains);
    await api.ok('Remove-ExchangeCertificate', { Server: 'EX02', Thumbprint: request.Thumbprint });
    await api.ok('Remove-ExchangeCertificate', { Server: 'EX02', Thumbprint: ca.Thumbprint });

    const own = (await api.ok('Get-ExchangeCertificate', { Server: 'EX02' })).find((c) => c.Subject === 'CN=EX02')!;
    assert.equal(own.Services, 'IMAP, POP, IIS, SMTP');
    const [renewed] = await api.ok('New-ExchangeCertificate', { Instance: own.Identity, Force: true });
    assert.notEqual(renewed.Thumbprint, own.Thumbprint);
    assert.deepEqual([renewed.Subject, renewed.Services, renewed.FriendlyName, renewed.CertificateDomains.map((d: { Address: string }) => d.Address)], ['CN=EX02', 'IMAP, POP, IIS, SMTP', 'Microsoft Exchange', ['EX02', 'ex02.interchange.local']]);
    const [after] = await api.ok('Get-ExchangeCertificate', { Thumbprint: own.Thumbprint, Server: 'EX02' });
    assert.equal(after.Services, 'IMAP, POP, SMTP', 'IIS has one certificate per server: it moved to the renewal');
    assert.equal((await api.ok('Get-TransportService', { Identity: 'EX02' }))[0].InternalTransportCertificateThumbprint, renewed.Thumbprint, '-Force made the renewal the internal transport certificate');
  });

  it('exports a certificate with its key as PFX and imports it on another server', async () => {
    const [mine] = await api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(pki.wildcard, 'pw', { withChain: true })), Password: secure('pw'), PrivateKeyExportable: true });
    assert.equal(mine.Subject, pki.wildcard.facts.subject);
    const [exported] = await api.ok('Export-ExchangeCertificate', { Thumbprint: mine.Thumbprint, BinaryEncoded: true, Password: secure('export-pw') });
    const file = Buffer.from(exported.FileData.$bytes, 'base64');
    const dir = await tempDir('export');
    await fs.promises.writeFile(path.join(dir, 'x.pfx'), file);
    const info = await run('openssl', ['pkcs12', '-in', path.join(dir, 'x.pfx'), '-passin', 'pass:export-pw', '-nokeys', '-clcerts']);
    assert.match(info.stdout, /subject=CN\s*=\s*\*\.contoso\.com/);
    const [theirs] = await api.ok('Import-ExchangeCertificate', { Server: 'EX02', FileData: bytes(file), Password: secure('export-pw') });
    assert.equal(theirs.Thumbprint, mine.Thumbprint);
    assert.equal(theirs.HasPrivateKey, true);
    assert.equal(theirs.Identity, `ex02.interchange.local\\${mine.Thumbprint}`);
    const again = await api.invoke('Import-ExchangeCertificate', { Server: 'EX02', FileData: bytes(file), Password: secure('export-pw') });
    assert.equal(again.error?.message, `A special Rpc error occurs on server EX02: Cannot import certificate. A certificate with the thumbprint ${mine.Thumbprint} already exists.`);
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it("keeps a PFX's own friendly name on import unless -FriendlyName is given", async () => {
    const file = await pfx(pki.oldCert, 'pw', { friendlyName: 'Contoso Mail 2026' });
    const [kept] = await api.ok('Import-ExchangeCertificate', { Server: 'EX02', FileData: bytes(file), Password: secure('pw') });
    assert.equal(kept.FriendlyName, 'Contoso Mail 2026');
    await api.ok('Remove-ExchangeCertificate', { Server: 'EX02', Thumbprint: kept.Thumbprint });
    const [named] = await api.ok('Import-ExchangeCertificate', { Server: 'EX02', FileData: bytes(file), Password: secure('pw'), FriendlyName: 'Given' });
    assert.equal(named.FriendlyName, 'Given');
    await api.ok('Remove-ExchangeCertificate', { Server: 'EX02', Thumbprint: named.Thumbprint });
  });

  it('reports status: expired as DateInvalid, a chain to an unknown root as Untrusted', async () => {
    const [expired] = await api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(pki.expired, 'pw', { withChain: true })), Password: secure('pw') });
    assert.equal(expired.Status, 'DateInvalid');
    const [untrusted] = await api.ok('Import-ExchangeCertificate', { Server: 'EX02', FileData: bytes(await pfx(pki.viaIntermediate, 'pw')), Password: secure('pw') });
    assert.equal(untrusted.Status, 'Untrusted');
    assert.equal(untrusted.RootCAType, 'Unknown');
  });

  it('Enable-ExchangeCertificate adds services and never removes one', async () => {
    const [c] = await api.ok('Get-ExchangeCertificate', { DomainName: ['x.contoso.com'] });
    assert.equal(c.Subject, 'CN=*.contoso.com');
    await api.ok('Enable-ExchangeCertificate', { Thumbprint: c.Thumbprint, Services: 'IIS' });
    const ask = await api.invoke('Enable-ExchangeCertificate', { Thumbprint: c.Thumbprint, Services: 'SMTP' });
    const [transport] = await api.ok('Get-TransportService', { Identity: 'EX01' });
    const [current] = await api.ok('Get-ExchangeCertificate', { Thumbprint: transport.InternalTransportCertificateThumbprint });
    // en-US as .NET writes it (M/d/yyyy h:mm:ss tt), in the server's time zone: Intl's en-US without its comma.
    const enUS = (iso: string) => new Date(iso).toLocaleString('en-US').replace(',', '').replace(/\u202f/g, ' ');
    assert.equal(
      ask.error?.confirmation?.query,
      `Overwrite the existing default SMTP certificate?\n\nCurrent certificate: '${current.Thumbprint}' (expires ${enUS(current.NotAfter)})\nReplace it with certificate: '${c.Thumbprint}' (expires ${enUS(c.NotAfter)})`,
    );
    assert.deepEqual(await api.ok('Enable-ExchangeCertificate', { Thumbprint: c.Thumbprint, Services: 'SMTP' }, { answers: { OverwriteDefaultSmtpCertificate: false } }), [], 'it writes nothing, as in Exchange');
    const [withSmtp] = await api.ok('Get-ExchangeCertificate', { Thumbprint: c.Thumbprint });
    assert.equal(withSmtp.Services, 'IIS, SMTP');
    assert.equal(withSmtp.ServicesStringForm, '...WS..');
    const fed = await api.invoke('Enable-ExchangeCertificate', { Thumbprint: c.Thumbprint, Services: 'Federation' });
    assert.equal(fed.error?.message, 'A special Rpc error occurs on server EX01: Federation certificates can only be managed through the FederationTrust tasks.');
  });

  it('-DomainName lists the certificates covering a name in selection order: exact before wildcard, CA-issued before self-signed, newest first', async () => {
    await api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(pki.oldCert, 'pw', { withChain: true })), Password: secure('pw') });
    await api.ok('Import-ExchangeCertificate', { FileData: bytes(await pfx(pki.renewedCert, 'pw', { withChain: true })), Password: secure('pw') });
    await api.ok('New-ExchangeCertificate', { SubjectName: 'CN=mail.contoso.com', Services: 'None' });
    const order = await api.ok('Get-ExchangeCertificate', { DomainName: ['mail.contoso.com'] });
    assert.deepEqual(
      order.map((c) => c.Thumbprint),
      [pki.renewedCert.facts.thumbprint, pki.oldCert.facts.thumbprint, order[2].Thumbprint, order[3].Thumbprint],
    );
    assert.equal(order[2].IsSelfSigned, true);
    assert.equal(order[3].Subject, 'CN=*.contoso.com');
  });
});
