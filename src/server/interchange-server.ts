import fs from 'node:fs';
import net from 'node:net';
import type tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { createAdminCenter } from '../admin-center/admin-center.js';
import { buildAdminApi } from '../api/admin-api.js';
import { CertificateStore } from '../certificate-store/certificate-store.js';
import { loadSystemRoots } from '../certificates/status.js';
import { buildCatalog } from '../cmdlets/catalog/index.js';
import type { OrganizationServices, TransportServiceControl } from '../cmdlets/framework/context.js';
import { CmdletRunner } from '../cmdlets/framework/runner.js';
import { DirectoryHealth, isDirectoryUnavailable } from '../directory/directory-health.js';
import type { DirectoryStore } from '../directory/directory-store.js';
import { type DirectoryLocation, parseDirectoryUrl } from '../directory/directory-url.js';
import { embeddedDirectoryFile, openDirectory } from '../directory/open-directory.js';
import { recordDirectory, recordedDirectory } from '../directory/recorded-directory.js';
import { bootstrapServer } from '../organization/bootstrap.js';
import { joinOrganization, refuseNewOrganizationEarly } from '../organization/organization-identity.js';
import { InterchangeError } from '../errors/interchange-error.js';
import { prepareDataFolder } from './data-folder.js';
import { AdminCertificateWatcher, loadAdminCertificate, noAdminCertificate } from './admin-tls.js';
import { parseAdvertiseUrl } from './advertise-url.js';
import { recordAdminEndpoint } from './admin-endpoint.js';
import { ServerLock } from './server-lock.js';
import { CredentialCheck } from '../security/credential-check.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, ServerHeartbeat } from './heartbeat.js';
import { AcmeRenewalService, renewalIntervalFromEnvironment } from '../acme/renewal-service.js';
import { leaseFromEnvironment } from '../acme/renewal.js';
import { productVersion } from '../product-version.js';
import { ServerMetrics } from '../observability/server-metrics.js';
import { MailFlowSampler } from '../observability/mail-flow-sampler.js';
import { samplingSettings } from '../observability/mail-flow-statistics.js';
import type { TransportMetrics, TransportObservation } from '../transport/metrics/transport-metrics.js';

/** The transport as the process owns it: what cmdlets control, plus releasing the spool and logs at exit. */
export interface ShutdownableTransport extends TransportServiceControl {
  close(): Promise<void>;
  /** The running state the server's metrics read when scraped. */
  observation?(): TransportObservation;
}

export interface ServeOptions {
  dataDir: string;
  serverName?: string;
  fqdn?: string;
  smtpPort: number;
  adminPort: number;
  adminHost?: string;
  /** HTTPS with the IIS certificate even on loopback (it is always used on other addresses). */
  adminHttps?: boolean;
  /** Plain HTTP on an address other than loopback: tokens then cross the network in clear. */
  insecureAdminHttp?: boolean;
  directoryUrl?: string;
  logger?: Logger;
  /** The admin API's address as other servers and shells reach it (`--advertise-url`); by default where it listens. */
  advertiseUrl?: string;
  /** How often the server records its heartbeat in the directory (milliseconds; 15 s by default). */
  heartbeatIntervalMs?: number;
  /** How often the server looks for ACME certificates to renew (milliseconds; INTERCHANGE_ACME_RENEWAL_INTERVAL_MS, an hour by default). */
  acmeRenewalIntervalMs?: number;
  /** How long one directory query may take before it counts as an outage (PostgreSQL; 15 s by default). */
  directoryTimeoutMs?: number;
  /** How often the mail flow statistics are sampled and how many samples are kept (INTERCHANGE_STATISTICS_INTERVAL_MS, INTERCHANGE_STATISTICS_SAMPLES; a minute, 24 hours). */
  statistics?: { intervalMs?: number; capacity?: number };
  /** Starts the transport service for this server; omitted in management-only processes. */
  transportFactory?: (deps: TransportDeps) => Promise<ShutdownableTransport>;
}

export interface TransportDeps {
  directory: DirectoryStore;
  certificates: CertificateStore;
  serverName: string;
  dataDir: string;
  logger: Logger;
  /** Where the transport counts messages and sessions. */
  metrics?: TransportMetrics;
}

export interface RunningServer {
  serverName: string;
  adminUrl: string;
  smtpPort: number;
  administratorToken?: string;
  tokenFile: string;
  directory: DirectoryStore;
  runner: CmdletRunner;
  api: FastifyInstance;
  transport?: TransportServiceControl;
  close(): Promise<void>;
}

export function defaultServerName(): string {
  return os.hostname().split('.')[0].toUpperCase();
}

/** One Interchange server process: directory, cmdlet layer, admin API and (when given) its transport service. */
export async function startInterchangeServer(input: ServeOptions): Promise<RunningServer> {
  // Paths stored in the directory (log folders) must not depend on the working directory.
  const opts = { ...input, dataDir: path.resolve(input.dataDir) };
  const logger = opts.logger ?? pino({ level: process.env.INTERCHANGE_LOG_LEVEL ?? 'info' });
  const serverName = (opts.serverName ?? defaultServerName()).toUpperCase();
  const fqdn = opts.fqdn ?? (serverName === defaultServerName() && os.hostname().includes('.') ? os.hostname().toLowerCase() : `${serverName.toLowerCase()}.interchange.local`);
  const clock = () => new Date();
  // The order is the guarantee: the directory URL is one, the folder is usable, the name is ours (on this host,
  // then in the directory), the ports are free, the folder and its key belong to the directory's organization;
  // only then does anything in the directory change (joinOrganization's first write, bootstrap).
  refuseListenPort(opts.smtpPort, '--smtp-port', 'the Default Frontend Receive connector', false);
  refuseListenPort(opts.adminPort, '--admin-port', 'the admin center and API', true);
  // A mistyped --directory is refused before the data folder is made; none means the one the folder was started
  // with (a PostgreSQL host's service unit names only --data), read once the folder is known to be one.
  const named = opts.directoryUrl === undefined ? undefined : parseDirectoryUrl(opts.directoryUrl);
  prepareDataFolder(opts.dataDir);
  const given = named ?? recordedDirectory(opts.dataDir) ?? parseDirectoryUrl(undefined);
  const directoryName = given.kind === 'postgres' ? `the directory ${given.withoutPassword}` : `the embedded directory ${embeddedDirectoryFile(opts.dataDir)}`;
  const location = withRecordedPassword(given, opts.dataDir);
  const lock = ServerLock.acquire(opts.dataDir, serverName);
  const cleanup: Array<() => Promise<void>> = [async () => lock.release()];
  const unwind = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  };
  try {
    const host = opts.adminHost ?? '127.0.0.1';
    // Exchange serves EAC over HTTPS with the IIS certificate; plain HTTP is kept for loopback, which no network carries.
    const useHttps = opts.adminHttps || (!isLoopback(host) && !opts.insecureAdminHttp);
    const advertised = opts.advertiseUrl === undefined ? undefined : parseAdvertiseUrl(opts.advertiseUrl, useHttps ? 'https' : 'http');
    await checkPortFree(opts.smtpPort, '0.0.0.0', `the Default Frontend ${serverName} Receive connector (--smtp-port)`);
    await checkPortFree(opts.adminPort, host, 'the admin center and API (--admin-port)');
    if (location.kind === 'sqlite' && !fs.existsSync(embeddedDirectoryFile(opts.dataDir))) refuseNewOrganizationEarly(opts.dataDir, directoryName);
    const directoryHealth = new DirectoryHealth(location.kind === 'postgres' ? location.withoutPassword : embeddedDirectoryFile(opts.dataDir), logger, clock);
    const directory = await openDirectory({ dataDir: opts.dataDir, location, health: directoryHealth, timeoutMs: opts.directoryTimeoutMs });
    cleanup.push(() => directory.close());
    const lease = await directory.lockServer(serverName);
    cleanup.push(() => lease.release());
    const { vault } = await joinOrganization({ directory, dataDir: opts.dataDir, directoryName, clock });
    recordDirectory(opts.dataDir, location);
    const certificates = new CertificateStore({ directory, vault, clock, systemRoots: loadSystemRoots() });

    const services: OrganizationServices = { directory, directoryHealth, vault, localServer: serverName, clock, dataDir: opts.dataDir };
    const catalog = buildCatalog({ certificates });
    const runner = new CmdletRunner(catalog.cmdlets, catalog.types, services, logger);
    const credentials = new CredentialCheck(directory, clock);
    const metrics = new ServerMetrics({ serverName, directoryHealth, clock });
    const adminCenter = createAdminCenter({ directory, localServer: serverName, clock, logger, credentials });
    const urlHost = host === '0.0.0.0' || host === '::' ? fqdn : host.includes(':') ? `[${host}]` : host;
    // With HTTPS the certificate must exist before the listener, and the first start creates it in bootstrap.
    const plannedUrl = advertised ?? `${useHttps ? 'https' : 'http'}://${urlHost}:${opts.adminPort}`;
    const boot = await bootstrapServer({ directory, certificates, dataDir: opts.dataDir, serverName, fqdn, smtpPort: opts.smtpPort, adminUrl: plannedUrl, clock });
    const adminCertificate = useHttps ? await loadAdminCertificate(certificates, serverName) : undefined;
    if (useHttps && !adminCertificate) throw noAdminCertificate(serverName);
    const api = await buildAdminApi({
      runner,
      directory,
      localServer: serverName,
      clock,
      authenticators: [adminCenter.authenticator],
      extend: adminCenter.register,
      serviceLog: logger,
      credentials,
      metrics,
      https: adminCertificate ? { cert: adminCertificate.cert, key: adminCertificate.key } : undefined,
    });
    try {
      await api.listen({ port: opts.adminPort, host });
    } catch (e) {
      throw listenError(e, opts.adminPort, host, 'the admin center and API (--admin-port)');
    }
    cleanup.push(() => api.close());
    const address = api.server.address();
    const port = typeof address === 'object' && address ? address.port : opts.adminPort;
    const adminUrl = advertised ?? `${useHttps ? 'https' : 'http'}://${urlHost}:${port}`;
    // --admin-port 0 (tests): the kernel chose the port, so the directory learns the real one now.
    if (adminUrl !== plannedUrl) await directory.updateServer({ ...(await directory.getServer(serverName))!, adminUrl });
    recordAdminEndpoint(opts.dataDir, { server: serverName, url: adminUrl, ...(adminCertificate ? { certificatePem: adminCertificate.cert } : {}) });
    let watcher: AdminCertificateWatcher | undefined;
    if (adminCertificate) {
      watcher = new AdminCertificateWatcher(
        { directory, store: certificates, serverName, server: api.server as unknown as tls.Server, onChange: (c) => {
            logger.info({ thumbprint: c.thumbprint }, 'The admin center now uses the certificate assigned to IIS');
            recordAdminEndpoint(opts.dataDir, { server: serverName, url: adminUrl, certificatePem: c.cert });
          }, onError: (e) => isDirectoryUnavailable(e) || logger.warn({ err: e }, 'Reading the IIS certificate failed') },
        adminCertificate.thumbprint,
      );
      watcher.start();
      cleanup.push(async () => watcher?.stop());
    }

    const transport = opts.transportFactory ? await opts.transportFactory({ directory, certificates, serverName, dataDir: opts.dataDir, logger, metrics }) : undefined;
    services.transport = transport;
    metrics.observe(transport?.observation?.());
    let sampler: MailFlowSampler | undefined;
    if (transport) {
      const settings = { ...samplingSettings(), ...opts.statistics };
      sampler = new MailFlowSampler({
        source: { counters: () => metrics.mailFlowCounters(), queues: () => metrics.deliveryQueues() },
        intervalMs: settings.intervalMs,
        capacity: settings.capacity,
        clock,
        onError: (e) => logger.warn({ err: e }, 'Sampling the mail flow statistics failed'),
      });
      await sampler.start();
      cleanup.push(async () => sampler?.stop());
      services.mailFlow = sampler;
    }
    const heartbeat = new ServerHeartbeat({
      directory,
      serverName,
      productVersion: productVersion(),
      intervalMs: opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      clock,
      bindingStatus: transport?.receiveBindingStatus?.bind(transport),
      onError: (e) => isDirectoryUnavailable(e) || logger.warn({ err: e }, 'Recording the server heartbeat in the directory failed'),
    });
    await heartbeat.start();
    const renewals = new AcmeRenewalService({
      directory,
      store: certificates,
      vault,
      serverName,
      clock,
      logger,
      intervalMs: opts.acmeRenewalIntervalMs ?? renewalIntervalFromEnvironment(),
      leaseMs: leaseFromEnvironment(),
      sendAlert: transport?.submitSystemMessage ? (m) => transport.submitSystemMessage!(m) : undefined,
    });
    renewals.start();
    logger.info({ server: serverName, adminUrl, smtpPort: opts.smtpPort, directory: directory.kind }, 'Interchange server started');

    return {
      serverName,
      adminUrl,
      smtpPort: opts.smtpPort,
      administratorToken: boot.administratorToken,
      tokenFile: boot.tokenFile,
      directory,
      runner,
      api,
      transport: services.transport,
      async close() {
        // Stops the service and then writes out what the spool still holds in memory
        // (removals of delivered mail, the processing journal), so a restart redelivers nothing.
        sampler?.stop();
        await renewals.stop();
        await transport?.close();
        await heartbeat.stop();
        watcher?.stop();
        await api.close();
        await lease.release();
        await directory.close();
        lock.release();
      },
    };
  } catch (e) {
    await unwind();
    throw e;
  }
}

/**
 * `--directory` without a password, for the directory whose password the data folder keeps (written by an
 * earlier start, `prepare-directory --data` or `join`): the kept password is used, so it never has to be
 * typed on a command line, where other users see it in the process list.
 */
function withRecordedPassword(given: DirectoryLocation, dataDir: string): DirectoryLocation {
  if (given.kind !== 'postgres' || given.password !== undefined) return given;
  const recorded = recordedDirectory(dataDir);
  if (recorded?.kind === 'postgres' && recorded.password !== undefined && recorded.withoutPassword === given.withoutPassword) return recorded;
  return given;
}

/**
 * A port the server can be reached on, checked before anything is written. The SMTP port is recorded in the
 * directory as the Default Frontend connector's binding, so 0 (a port the kernel picks anew at every start) is
 * refused there; the admin port may be 0 because the directory learns the port actually chosen.
 */
export function refuseListenPort(port: number, option: string, what: string, zeroAllowed: boolean): void {
  if (Number.isInteger(port) && port >= (zeroAllowed ? 0 : 1) && port <= 65535) return;
  throw new InterchangeError('ICX_PARAM_INVALID', `${option} ${port} cannot be used for ${what}: give a TCP port from ${zeroAllowed ? 0 : 1} to 65535.`);
}

/** Opens and closes a listener, so a port held by another process stops the start-up before the directory changes. */
async function checkPortFree(port: number, host: string, what: string): Promise<void> {
  if (port === 0) return;
  const probe = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ port, host, exclusive: true }, () => resolve());
    });
  } catch (e) {
    throw listenError(e, port, host, what);
  }
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

function listenError(e: unknown, port: number, host: string, what: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new InterchangeError('ICX_PORT_IN_USE', `Port ${port} on ${host}, for ${what}, is in use by another process.`, { cause: e });
  if (code === 'EACCES') return new InterchangeError('ICX_PORT_DENIED', `Port ${port} on ${host}, for ${what}, needs CAP_NET_BIND_SERVICE (ports below 1024); run as the systemd unit does or choose another port.`, { cause: e });
  if (code === 'EADDRNOTAVAIL') return new InterchangeError('ICX_PORT_DENIED', `Address ${host}, for ${what}, is not an address of this host.`, { cause: e });
  return e;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || host === '::ffff:127.0.0.1';
}
