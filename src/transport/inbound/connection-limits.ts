// Whether a Receive connector takes one more connection: Exchange's
// MaxInboundConnection, MaxInboundConnectionPerSource and
// MaxInboundConnectionPercentagePerSource. Pure, so it is table-tested.
import type { ReceiveConnectorRecord } from '../../directory/records.js';

export type ConnectionLimits = Pick<ReceiveConnectorRecord, 'maxInboundConnection' | 'maxInboundConnectionPerSource' | 'maxInboundConnectionPercentagePerSource'>;

/** Which limit refused the connection; `accept` when none did. */
export type Admission = 'accept' | 'MaxInboundConnection' | 'MaxInboundConnectionPerSource' | 'MaxInboundConnectionPercentagePerSource';

/**
 * `open` and `fromSource` count the connections the connector already serves,
 * without the new one. The percentage is of the connections still free (as
 * Exchange documents it), so one address's share shrinks as the connector
 * fills and never takes the last free connections from everyone else; it is
 * rounded up so a nearly full connector still admits a first connection from a
 * new address. With MaxInboundConnection Unlimited there is nothing to take a
 * percentage of, and only the per-source count applies.
 */
export function admitConnection(limits: ConnectionLimits, open: number, fromSource: number): Admission {
  const total = limits.maxInboundConnection;
  if (total !== null && open >= total) return 'MaxInboundConnection';
  if (limits.maxInboundConnectionPerSource !== null && fromSource >= limits.maxInboundConnectionPerSource) return 'MaxInboundConnectionPerSource';
  if (total !== null && fromSource >= Math.ceil(((total - open) * limits.maxInboundConnectionPercentagePerSource) / 100)) return 'MaxInboundConnectionPercentagePerSource';
  return 'accept';
}

/**
 * The connections a connector serves, in total and per remote address. An
 * address has an entry only while it has a connection open, so the table never
 * holds more entries than there are sockets.
 */
export class ConnectionCounts {
  open = 0;
  private readonly bySource = new Map<string, number>();

  fromSource(address: string): number {
    return this.bySource.get(address) ?? 0;
  }

  add(address: string): void {
    this.open++;
    this.bySource.set(address, this.fromSource(address) + 1);
  }

  remove(address: string): void {
    this.open--;
    const n = this.fromSource(address) - 1;
    if (n > 0) this.bySource.set(address, n);
    else this.bySource.delete(address);
  }

  get sources(): number {
    return this.bySource.size;
  }
}
