import type { SendConnectorRecord, ServerHeartbeatRecord } from '../directory/records.js';
import { InterchangeError } from '../errors/interchange-error.js';
import { serverReachability } from './server-reachability.js';

export interface ServerRemovalPlan {
  /** Send connectors that keep other source servers: each without the removed one. */
  sendConnectors: SendConnectorRecord[];
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * Whether a server may leave the organization, and what changes with it. Refused for the server the caller
 * is connected to, for a server whose process is still seen running, and while a Send connector would be
 * left with no source server (Exchange's uninstall stops on the same).
 */
export function planServerRemoval(input: {
  serverName: string;
  localServer: string;
  heartbeat: ServerHeartbeatRecord | undefined;
  sendConnectors: readonly SendConnectorRecord[];
  now: Date;
}): ServerRemovalPlan {
  const { serverName, heartbeat } = input;
  if (same(serverName, input.localServer)) {
    throw new InterchangeError('ICX_SERVER_RUNNING', `Server ${serverName} is the server this session is connected to and cannot remove itself: connect to another server of the organization, stop ${serverName}'s interchange serve process, and run Remove-ExchangeServer there.`);
  }
  if (heartbeat && serverReachability(heartbeat, input.now) === 'Reachable') throw serverRunning(serverName, heartbeat);
  const sources = input.sendConnectors.filter((c) => c.sourceTransportServers.some((s) => same(s, serverName)));
  const only = sources.filter((c) => c.sourceTransportServers.every((s) => same(s, serverName)));
  if (only.length > 0) {
    throw new InterchangeError(
      'ICX_SERVER_ONLY_SOURCE',
      `Server ${serverName} is the only source server of the Send connector${only.length > 1 ? 's' : ''} ${only.map((c) => `"${c.name}"`).join(', ')}. Add another source server (Set-SendConnector -SourceTransportServers) or remove the connector${only.length > 1 ? 's' : ''} before removing the server.`,
    );
  }
  return { sendConnectors: sources.map((c) => ({ ...c, sourceTransportServers: c.sourceTransportServers.filter((s) => !same(s, serverName)) })) };
}

/** The refusal for a server whose process still runs, saying when it was last seen. */
export function serverRunning(serverName: string, heartbeat: ServerHeartbeatRecord | undefined): InterchangeError {
  const seen = heartbeat ? `its process (pid ${heartbeat.pid} on ${heartbeat.host}) was last seen at ${heartbeat.lastSeen.toISOString()}` : 'its process holds its name in the directory';
  return new InterchangeError('ICX_SERVER_RUNNING', `Server ${serverName} is running: ${seen}. Stop its interchange serve process first.`);
}
