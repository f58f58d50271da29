import crypto from 'node:crypto';
import { type CertificateFacts, readCertificateFacts } from '../certificates/certificate-facts.js';
import { readCertificateData, writePkcs12, toPem } from '../certificates/containers.js';
import { createCertificateRequest, createSelfSignedCertificate, readCertificateRequest } from '../certificates/generate.js';
import { privateKeyMatchesCertificate } from '../certificates/keys.js';
import { evaluateCertificateStatus, type CertificateStatus, type RootCAType } from '../certificates/status.js';
import { identifierMatches, parseSmtpX509Identifier } from '../connectors/smtp-x509-identifier.js';
import type { DirectoryStore } from '../directory/directory-store.js';
import type { CertificateRecord, EncryptedSecret, ExchangeService, SendConnectorRecord, ServerRecord } from '../directory/records.js';
import { InterchangeError } from '../errors/interchange-error.js';
import type { KeyVault } from '../security/key-vault.js';
import type { SelectableCertificate } from './selection.js';

export interface EvaluatedCertificate extends SelectableCertificate {
  record: CertificateRecord;
  server: ServerRecord;
  rootCAType: RootCAType;
  /** For pending requests: the subject and names requested. */
  pending?: { subject: string; domainNames: string[] };
}

export interface CertificateStoreDeps {
  directory: DirectoryStore;
  vault: KeyVault;
  clock: () => Date;
  systemRoots: readonly Buffer[];
}

/**
 * Errors raised by the server that owns a certificate store reach the
 * administrator wrapped the way Exchange wraps its Service Host's answers.
 */
export function serverSideError(code: ConstructorParameters<typeof InterchangeError>[0], server: string, message: string, details?: Record<string, unknown>): InterchangeError {
  return new InterchangeError(code, `A special Rpc error occurs on server ${server}: ${message}`, { details: { server, ...details } });
}

const thumbprintOf = (der: Buffer) => crypto.createHash('sha1').update(der).digest('hex').toUpperCase();

export interface SelfSignedOptions {
  subjectName: string;
  domainNames: string[];
  keySize: number;
  friendlyName: string;
  services: ExchangeService[];
  privateKeyExportable: boolean;
  validDays?: number;
}

/** The read side of the certificate stores, all the transport gets: evaluated certificates and their keys for TLS. */
export type CertificateReader = Pick<CertificateStore, 'server' | 'list' | 'privateKey' | 'openSecret'>;

/** Each server's certificate store, kept in the directory: every server-side rule of the certificate cmdlets. */
export class CertificateStore {
  constructor(private readonly deps: CertificateStoreDeps) {}

  async server(name: string, directory: DirectoryStore = this.deps.directory): Promise<ServerRecord> {
    const server = await directory.getServer(name);
    if (!server) {
      throw new InterchangeError(
        'ICX_SERVER_NOT_FOUND',
        `The operation couldn't be performed because object '${name}' couldn't be found on the directory of organization servers.`,
      );
    }
    return server;
  }

  /** Facts, status and chain evaluation for every certificate on a server. */
  /** Pass the transaction's store when called inside `exclusive`: the outer one would wait for the lock it holds. */
  async list(serverName: string, directory: DirectoryStore = this.deps.directory): Promise<EvaluatedCertificate[]> {
    const server = await this.server(serverName, directory);
    const records = await directory.listCertificates(server.name);
    const registryRoots = (await directory.listTrustedRoots(server.name)).map((r) => r.der);
    const intermediates = records.flatMap((r) => [...r.chain, ...(r.der ? [r.der] : [])]);
    return records.map((record) => this.evaluate(record, server, { registryRoots, intermediates }));
  }

  private evaluate(record: CertificateRecord, server: ServerRecord, roots: { registryRoots: Buffer[]; intermediates: Buffer[] }): EvaluatedCertificate {
    const hasPrivateKey = record.privateKey !== null;
    if (!record.der) {
      const req = record.requestDer ? readCertificateRequest(record.requestDer) : undefined;
      const placeholder: CertificateFacts = {
        der: Buffer.alloc(0),
        thumbprint: record.thumbprint,
        subject: req?.subject ?? '',
        issuer: req?.subject ?? '',
        serialNumber: '',
        notBefore: record.createdAt,
        notAfter: record.createdAt,
        certificateDomains: req?.domainNames ?? [],
        dnsNames: req?.domainNames ?? [],
        publicKeySpki: Buffer.alloc(0),
        subjectDer: Buffer.alloc(0),
        issuerDer: Buffer.alloc(0),
        publicKeySize: 0,
        keyAlgorithm: 'RSA',
        isSelfSigned: false,
        isCertificateAuthority: false,
        signatureAlgorithm: '',
        version: 0,
        enhancedKeyUsageList: [],
      };
      return {
        record,
        server,
        thumbprint: record.thumbprint,
        facts: placeholder,
        status: 'PendingRequest',
        rootCAType: 'Unknown',
        hasPrivateKey,
        services: record.services,
        pending: req ? { subject: req.subject, domainNames: req.domainNames } : undefined,
      };
    }
    const facts = readCertificateFacts(record.der);
    const { status, rootCAType } = evaluateCertificateStatus(record.der, {
      now: this.deps.clock(),
      intermediates: [...record.chain, ...roots.intermediates],
      registryRoots: roots.registryRoots,
      thirdPartyRoots: this.deps.systemRoots,
    });
    return { record, server, thumbprint: record.thumbprint, facts, status, rootCAType, hasPrivateKey, services: record.services };
  }

  async get(serverName: string, thumbprint: string): Promise<EvaluatedCertificate> {
    const all = await this.list(serverName);
    const found = all.find((c) => c.thumbprint === thumbprint.toUpperCase());
    if (!found) throw serverSideError('ICX_CERT_NOT_FOUND', all[0]?.server.name ?? serverName, `The certificate with thumbprint ${thumbprint.toUpperCase()} was not found.`);
    return found;
  }

  /** Decrypted private key (PKCS#8 DER) for the transport's TLS contexts and for export. */
  privateKey(record: CertificateRecord): Buffer | null {
    return record.privateKey ? this.deps.vault.open(record.privateKey) : null;
  }

  /** Another secret sealed under the same vault (a Send connector's AuthenticationCredential), for the transport. */
  openSecret(secret: EncryptedSecret): Buffer {
    return this.deps.vault.open(secret);
  }

  async createSelfSigned(serverName: string, opts: SelfSignedOptions): Promise<CertificateRecord> {
    const record = await this.newSelfSigned(serverName, opts);
    await this.deps.directory.insertCertificate(record);
    return record;
  }

  /** A self-signed certificate for the server, not yet in the directory: its key is made outside any directory lock. */
  async newSelfSigned(serverName: string, opts: SelfSignedOptions): Promise<CertificateRecord> {
    const server = await this.server(serverName);
    const now = this.deps.clock();
    const notAfter = new Date(now.getTime() + (opts.validDays ?? 5 * 365) * 86_400_000);
    const { der, privateKeyPkcs8 } = await createSelfSignedCertificate({ subjectName: opts.subjectName, domainNames: opts.domainNames, keySize: opts.keySize, notBefore: new Date(now.getTime() - 60_000), notAfter });
    const record: CertificateRecord = {
      serverName: server.name,
      thumbprint: thumbprintOf(der),
      der,
      requestDer: null,
      privateKey: this.deps.vault.seal(privateKeyPkcs8),
      friendlyName: opts.friendlyName,
      services: opts.services,
      privateKeyExportable: opts.privateKeyExportable,
      chain: [],
      createdAt: now,
    };
    return record;
  }

  async createRequest(
    serverName: string,
    opts: { subjectName: string; domainNames: string[]; keySize: number; friendlyName: string; privateKeyExportable: boolean },
  ): Promise<{ record: CertificateRecord; csrPem: string; csrDer: Buffer }> {
    const server = await this.server(serverName);
    const { csrDer, csrPem, privateKeyPkcs8 } = await createCertificateRequest({ subjectName: opts.subjectName, domainNames: opts.domainNames, keySize: opts.keySize });
    const record: CertificateRecord = {
      serverName: server.name,
      thumbprint: thumbprintOf(csrDer),
      der: null,
      requestDer: csrDer,
      privateKey: this.deps.vault.seal(privateKeyPkcs8),
      friendlyName: opts.friendlyName,
      services: [],
      privateKeyExportable: opts.privateKeyExportable,
      chain: [],
      createdAt: this.deps.clock(),
    };
    await this.deps.directory.insertCertificate(record);
    return { record, csrPem, csrDer };
  }

  /**
   * Installs a certificate a CA just issued for a key made on this server (Request-AcmeCertificate):
   * the key is sealed like every other, the chain kept with it, and a root that came with the chain
   * joins the server's trusted roots, as an import does.
   */
  async installIssued(
    serverName: string,
    issued: { certificates: Buffer[]; privateKeyPkcs8: Buffer },
    opts: { friendlyName: string; services: ExchangeService[]; privateKeyExportable: boolean },
  ): Promise<CertificateRecord> {
    const server = await this.server(serverName);
    const [leaf, ...chain] = issued.certificates;
    if (!leaf || !privateKeyMatchesCertificate(issued.privateKeyPkcs8, leaf)) {
      throw serverSideError('ICX_CERT_KEY_MISMATCH', server.name, 'The certificate the CA returned is not for the key this server made for the request.');
    }
    const thumbprint = thumbprintOf(leaf);
    return this.deps.directory.exclusive(async (tx) => {
      if (await tx.getCertificate(server.name, thumbprint)) {
        throw serverSideError('ICX_CERT_EXISTS', server.name, `Cannot import certificate. A certificate with the thumbprint ${thumbprint} already exists.`);
      }
      const record: CertificateRecord = {
        serverName: server.name,
        thumbprint,
        der: leaf,
        requestDer: null,
        privateKey: this.deps.vault.seal(issued.privateKeyPkcs8),
        friendlyName: opts.friendlyName,
        services: opts.services,
        privateKeyExportable: opts.privateKeyExportable,
        chain,
        createdAt: this.deps.clock(),
      };
      await tx.insertCertificate(record);
      for (const der of chain) {
        const f = readCertificateFacts(der);
        if (f.isSelfSigned && f.isCertificateAuthority) await tx.insertTrustedRoot({ serverName: server.name, thumbprint: f.thumbprint, der });
      }
      return record;
    });
  }

  /**
   * Installs a certificate from a PFX, PEM or PKCS#7 file. A certificate
   * without a key that answers one of the server's pending requests completes
   * that request. Roots that came in the file join the server's trusted roots,
   * as importing a chain does on Windows.
   */
  async importData(
    serverName: string,
    data: Buffer,
    opts: { password?: string; friendlyName?: string; privateKeyExportable: boolean },
  ): Promise<CertificateRecord> {
    const server = await this.server(serverName);
    const bundle = await readCertificateData(data, opts.password).catch((e) => {
      if (e instanceof InterchangeError) throw serverSideError(e.code, server.name, e.message);
      throw e;
    });
    const [leaf, ...chain] = bundle.certificates;
    if (!leaf) throw serverSideError('ICX_CERT_DATA_CORRUPT', server.name, 'The source data is corrupted or not properly Base64 encoded. It holds no certificate.');
    const thumbprint = thumbprintOf(leaf);

    return this.deps.directory.exclusive(async (tx) => {
      if (await tx.getCertificate(server.name, thumbprint)) {
        throw serverSideError('ICX_CERT_EXISTS', server.name, `Cannot import certificate. A certificate with the thumbprint ${thumbprint} already exists.`);
      }
      let privateKey = bundle.privateKeyPkcs8 ? this.deps.vault.seal(bundle.privateKeyPkcs8) : null;
      // As Windows and Exchange do, the PFX's own friendly name (its friendlyName bag attribute) is kept unless one is given.
      let friendlyName = opts.friendlyName ?? bundle.friendlyName;
      let exportable = opts.privateKeyExportable;
      let requestDer: Buffer | null = null;
      if (!privateKey) {
        // Completing a pending request: the issued certificate carries the request's public key.
        for (const pending of (await tx.listCertificates(server.name)).filter((c) => c.der === null && c.privateKey)) {
          const key = this.deps.vault.open(pending.privateKey!);
          if (privateKeyMatchesCertificate(key, leaf)) {
            privateKey = pending.privateKey;
            friendlyName ??= pending.friendlyName;
            exportable = pending.privateKeyExportable || opts.privateKeyExportable;
            requestDer = pending.requestDer;
            await tx.deleteCertificate(server.name, pending.thumbprint);
            break;
          }
        }
      }
      const record: CertificateRecord = {
        serverName: server.name,
        thumbprint,
        der: leaf,
        requestDer,
        privateKey,
        friendlyName: friendlyName ?? '',
        services: [],
        privateKeyExportable: exportable,
        chain,
        createdAt: this.deps.clock(),
      };
      await tx.insertCertificate(record);
      for (const der of chain) {
        const f = readCertificateFacts(der);
        if (f.isSelfSigned && f.isCertificateAuthority) await tx.insertTrustedRoot({ serverName: server.name, thumbprint: f.thumbprint, der });
      }
      return record;
    });
  }

  async exportCertificate(serverName: string, thumbprint: string, opts: { password?: string; binaryEncoded: boolean }): Promise<Buffer> {
    const cert = await this.get(serverName, thumbprint);
    const { record, server } = cert;
    if (!record.der) {
      const der = record.requestDer!;
      return opts.binaryEncoded ? der : Buffer.from(toPem(der, 'NEW CERTIFICATE REQUEST'));
    }
    if (opts.password === undefined) {
      return opts.binaryEncoded ? record.der : Buffer.from([record.der, ...record.chain].map((d) => toPem(d, 'CERTIFICATE')).join(''));
    }
    if (!record.privateKey) {
      throw serverSideError('ICX_CERT_NO_PRIVATE_KEY', server.name, 'The certificate does not have a private key. Certificates without a private key cannot be exported as PKCS-12.');
    }
    if (!record.privateKeyExportable) {
      throw serverSideError('ICX_CERT_NOT_EXPORTABLE', server.name, "The private key couldn't be exported as PKCS-12. It either couldn't be accessed or isn't exportable.");
    }
    const pfx = await writePkcs12({ certificates: [record.der, ...record.chain], privateKeyPkcs8: this.deps.vault.open(record.privateKey), password: opts.password, friendlyName: record.friendlyName });
    return opts.binaryEncoded ? pfx : Buffer.from(pfx.toString('base64'));
  }

  /** Adds services (never removes: Exchange's rule). Returns the record as saved. */
  async enable(serverName: string, thumbprint: string, services: ExchangeService[], makeInternalTransport: boolean): Promise<CertificateRecord> {
    const server = await this.server(serverName);
    if (services.includes('Federation')) {
      throw serverSideError('ICX_CERT_SERVICE_INVALID', server.name, 'Federation certificates can only be managed through the FederationTrust tasks.');
    }
    return this.deps.directory.exclusive(async (tx) => {
      const record = await tx.getCertificate(server.name, thumbprint);
      if (!record) throw serverSideError('ICX_CERT_NOT_FOUND', server.name, `The certificate with thumbprint ${thumbprint.toUpperCase()} was not found.`);
      if (!record.der) {
        throw serverSideError('ICX_CERT_NO_PRIVATE_KEY', server.name, `The certificate with thumbprint ${record.thumbprint} is a pending request. Complete it with Import-ExchangeCertificate before assigning services.`);
      }
      if (!record.privateKey && services.length > 0) {
        throw serverSideError('ICX_CERT_NO_PRIVATE_KEY', server.name, `The certificate with thumbprint ${record.thumbprint} doesn't have a private key, so it can't be used for ${services.join(', ')}.`);
      }
      const updated: CertificateRecord = { ...record, services: [...new Set([...record.services, ...services])] };
      await tx.updateCertificate(updated);
      if (services.includes('IIS')) {
        // IIS has one binding per server (the admin center's HTTPS here): assigning it moves it, as in Exchange.
        for (const other of await tx.listCertificates(server.name)) {
          if (other.thumbprint !== record.thumbprint && other.services.includes('IIS')) await tx.updateCertificate({ ...other, services: other.services.filter((x) => x !== 'IIS') });
        }
      }
      if (makeInternalTransport && services.includes('SMTP')) {
        const s = await tx.getServer(server.name);
        if (s) await tx.updateServer({ ...s, internalTransportCertificateThumbprint: record.thumbprint });
      }
      return updated;
    });
  }

  /**
   * Remove-ExchangeCertificate's server-side checks (reference §2.5) and the
   * deletion, in one exclusive directory transaction: a Set-SendConnector that
   * names this certificate either commits before (and the removal is refused)
   * or after (and finds the certificate gone); never in between.
   */
  async remove(serverName: string, thumbprint: string): Promise<CertificateRecord> {
    const server = await this.server(serverName);
    const tp = thumbprint.toUpperCase();
    return this.deps.directory.exclusive(async (tx) => {
      const record = await tx.getCertificate(server.name, tp);
      if (!record) throw serverSideError('ICX_CERT_NOT_FOUND', server.name, `The certificate with thumbprint ${tp} was not found.`);
      if (record.der) {
        const current = await tx.getServer(server.name);
        if (current?.internalTransportCertificateThumbprint?.toUpperCase() === tp) {
          throw serverSideError(
            'ICX_CERT_IN_USE_INTERNAL_TRANSPORT',
            server.name,
            'The internal transport certificate cannot be removed because that would cause the Microsoft Exchange Transport service to stop. To replace the internal transport certificate, create a new certificate. The new certificate will automatically become the internal transport certificate. You can then remove the existing certificate.',
          );
        }
        const blocking = blockingSendConnectors(readCertificateFacts(record.der), await tx.listSendConnectors());
        if (blocking.length) {
          throw serverSideError(
            'ICX_CERT_IN_USE_SEND_CONNECTOR',
            server.name,
            `These certificates are tagged with following Send Connectors : ${blocking.join(', ')}. Removing and replacing certificates from Send Connector would break the mail flow. If you still want to proceed then replace or remove these certificates from Send Connector and then try this command.`,
            { connectors: blocking, thumbprint: tp },
          );
        }
      }
      await tx.deleteCertificate(server.name, tp);
      return record;
    });
  }
}

/** Names of the Send connectors whose TlsCertificateName names this certificate (issuer and subject). */
export function blockingSendConnectors(facts: Pick<CertificateFacts, 'issuer' | 'subject'>, connectors: readonly SendConnectorRecord[]): string[] {
  return connectors
    .filter((c) => c.tlsCertificateName !== null && identifierMatches(parseSmtpX509Identifier(c.tlsCertificateName), facts))
    .map((c) => c.name);
}

export type { CertificateStatus };
