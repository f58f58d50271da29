import type { ServerHeartbeatRecord } from '../directory/records.js';

export type ServerReachability = 'Reachable' | 'Unreachable' | 'Stopped' | 'NeverSeen';

/** Heartbeats a running server may miss (a slow directory, a busy host) before it counts as gone. */
export const MISSED_HEARTBEATS_TOLERATED = 3;

/**
 * What a server's last heartbeat says now: Reachable while it is running and
 * was seen within MISSED_HEARTBEATS_TOLERATED of its own intervals; Stopped
 * once it said so on a clean stop; Unreachable when it went silent without
 * stopping (killed, host down, cut off from the directory); NeverSeen when no
 * process of it ever recorded one.
 */
export function serverReachability(heartbeat: Pick<ServerHeartbeatRecord, 'state' | 'lastSeen' | 'intervalMs'> | undefined, now: Date): ServerReachability {
  if (!heartbeat) return 'NeverSeen';
  if (heartbeat.state === 'Stopped') return 'Stopped';
  const silentFor = now.getTime() - heartbeat.lastSeen.getTime();
  return silentFor <= MISSED_HEARTBEATS_TOLERATED * heartbeat.intervalMs ? 'Reachable' : 'Unreachable';
}
