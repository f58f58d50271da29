// Exchange's server component states (Get-/Set-ServerComponentState): each
// requester (Maintenance, HealthApi, ...) sets a component of a server Active,
// Inactive or, for transport, Draining; the component is only as available as
// its most restrictive requester says, and ServerWideOffline Inactive takes
// every component with it. This is how an administrator takes a server out of
// mail flow without losing what it holds: a draining HubTransport refuses new
// messages (421 4.3.2 at MAIL FROM) and goes on delivering its queues.
import { InterchangeError } from '../errors/interchange-error.js';

export type ComponentState = 'Active' | 'Inactive' | 'Draining';

export interface ServerComponentStateEntry {
  component: ServerComponent;
  requester: ComponentRequester;
  state: ComponentState;
  timestamp: Date;
}

/** The components whose state means something here; Exchange's others have no counterpart. */
export const SERVER_COMPONENTS = ['ServerWideOffline', 'HubTransport', 'FrontendTransport', 'Monitoring', 'RecoveryActionsEnabled'] as const;
export type ServerComponent = (typeof SERVER_COMPONENTS)[number];

export const COMPONENT_REQUESTERS = ['HealthApi', 'Maintenance', 'Sidelined', 'Functional', 'Deployment'] as const;
export type ComponentRequester = (typeof COMPONENT_REQUESTERS)[number];

/** Only transport components drain: they have queues to finish. */
const DRAINABLE: ReadonlySet<ServerComponent> = new Set(['HubTransport', 'FrontendTransport']);

const RESTRICTION: Record<ComponentState, number> = { Active: 0, Draining: 1, Inactive: 2 };

/** The entries after a requester sets a component's state (its earlier entry for that component replaced). */
export function setComponentState(entries: readonly ServerComponentStateEntry[], entry: ServerComponentStateEntry): ServerComponentStateEntry[] {
  if (entry.state === 'Draining' && !DRAINABLE.has(entry.component)) {
    throw new InterchangeError('ICX_PARAM_INVALID', `The state Draining applies only to ${[...DRAINABLE].join(' and ')}; ${entry.component} is Active or Inactive.`, { parameter: 'State' });
  }
  return [...entries.filter((e) => !(e.component === entry.component && e.requester === entry.requester)), entry];
}

/** A component's state: the most restrictive of its requesters', Inactive when the whole server is offline. */
export function effectiveState(entries: readonly ServerComponentStateEntry[] | undefined, component: ServerComponent): ComponentState {
  let state: ComponentState = 'Active';
  for (const e of entries ?? []) {
    const applies = e.component === component || (e.component === 'ServerWideOffline' && e.state === 'Inactive');
    if (applies && RESTRICTION[e.state] > RESTRICTION[state]) state = e.state;
  }
  return state;
}

/** Whether the server's transport takes new messages: HubTransport and FrontendTransport both Active. */
export function acceptsNewMessages(entries: readonly ServerComponentStateEntry[] | undefined): boolean {
  return effectiveState(entries, 'HubTransport') === 'Active' && effectiveState(entries, 'FrontendTransport') === 'Active';
}
