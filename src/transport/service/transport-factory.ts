import type { ShutdownableTransport, TransportDeps } from '../../server/interchange-server.js';
import type { AuthThrottlePolicy } from '../inbound/auth-throttle.js';
import { TransportService } from './transport-service.js';

/** The transport service of a server process: started with the process, stopped and started by Stop-/Start-Service. */
export function createTransportFactory(overrides: { configPollMs?: number; stopGraceMs?: number; authThrottle?: Partial<AuthThrottlePolicy> } = {}): (deps: TransportDeps) => Promise<ShutdownableTransport> {
  return async (deps) =>
    TransportService.create({
      directory: deps.directory,
      certificates: deps.certificates,
      serverName: deps.serverName,
      dataDir: deps.dataDir,
      logger: deps.logger,
      configPollMs: overrides.configPollMs ?? (Number(process.env.INTERCHANGE_CONFIG_POLL_MS) || undefined),
      stopGraceMs: overrides.stopGraceMs ?? (Number(process.env.INTERCHANGE_STOP_GRACE_MS) || undefined),
      authThrottle: overrides.authThrottle,
      metrics: deps.metrics,
      eventIntervalMs: Number(process.env.INTERCHANGE_EVENT_INTERVAL_MS) || undefined,
    });
}
