import type { TransportServiceControl } from '../../cmdlets/framework/context.js';
import type { TransportDeps } from '../../server/interchange-server.js';

/** The transport service of a server process. (The SMTP engine is being built; until then the service only keeps its state.) */
export function createTransportFactory(): (deps: TransportDeps) => Promise<TransportServiceControl> {
  return async (deps) => {
    let state: 'Running' | 'Stopped' = 'Running';
    return {
      serverName: deps.serverName,
      status: () => state,
      async stop() {
        state = 'Stopped';
      },
      async start() {
        state = 'Running';
      },
    };
  };
}
