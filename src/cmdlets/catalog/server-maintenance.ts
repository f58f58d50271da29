// Taking a server out of mail flow and asking whether it is healthy, with
// Exchange's cmdlets: Get-/Set-ServerComponentState (a draining HubTransport
// refuses new mail and finishes its queues) and Test-ServiceHealth.
import type { ServerRecord } from '../../directory/records.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import {
  COMPONENT_REQUESTERS,
  type ComponentRequester,
  type ComponentState,
  effectiveState,
  SERVER_COMPONENTS,
  type ServerComponent,
  setComponentState,
} from '../../organization/server-component-state.js';
import type { CmdletContext } from '../framework/context.js';
import { type CmdletDeclaration, defineCmdlet, defineObjectType } from '../framework/declaration.js';
import { formatTimeSpan } from '../framework/units.js';
import { DeliveryError } from '../../transport/outbound/smtp-client.js';
import { redirectEndpoint } from '../../transport/routing/redirect.js';
import { resolveServer, resolveServerOrRunning } from './common.js';
import { forward } from './servers.js';

export const serverComponentStateType = defineObjectType({
  name: 'ServerComponentStatePresentationObject',
  properties: [
    { name: 'Identity', type: 'String' },
    { name: 'Server', type: 'String' },
    { name: 'ServerFqdn', type: 'String' },
    { name: 'Component', type: 'String' },
    { name: 'State', type: 'String' },
    { name: 'LocalStates', type: 'String', multiValued: true },
  ],
  defaultTableView: ['Server', 'Component', 'State'],
  defaultListView: [],
});

export const serviceHealthType = defineObjectType({
  name: 'ServiceHealth',
  properties: [
    { name: 'Role', type: 'String' },
    { name: 'RequiredServicesRunning', type: 'Boolean' },
    { name: 'ServicesRunning', type: 'String', multiValued: true },
    { name: 'ServicesNotRunning', type: 'String', multiValued: true },
    { name: 'Server', type: 'String' },
    { name: 'DirectoryAvailable', type: 'Boolean' },
  ],
  defaultTableView: ['Role', 'RequiredServicesRunning', 'ServicesRunning', 'ServicesNotRunning'],
  defaultListView: ['Role', 'RequiredServicesRunning', 'ServicesRunning', 'ServicesNotRunning'],
});

export const testMailflowResultType = defineObjectType({
  name: 'TestMailflowResult',
  properties: [
    { name: 'TestMailflowResult', type: 'String' },
    { name: 'MessageLatencyTime', type: 'TimeSpan' },
    { name: 'IsRemoteTest', type: 'Boolean' },
    { name: 'Identity', type: 'String' },
    { name: 'IsValid', type: 'Boolean' },
    { name: 'SourceServer', type: 'String' },
    { name: 'TargetServer', type: 'String' },
    { name: 'Error', type: 'String' },
  ],
  defaultTableView: ['TestMailflowResult', 'MessageLatencyTime', 'IsRemoteTest'],
  defaultListView: [],
});

function componentObject(server: ServerRecord, component: ServerComponent): Record<string, unknown> {
  const entries = (server.componentStates ?? []).filter((e) => e.component === component);
  return {
    $type: 'ServerComponentStatePresentationObject',
    Identity: `${server.name}\\${component}`,
    Server: server.fqdn,
    ServerFqdn: server.fqdn,
    Component: component,
    State: effectiveState(server.componentStates, component),
    LocalStates: entries.map((e) => `${e.requester}=${e.state} (${e.timestamp.toISOString()})`),
  };
}

export function serverMaintenanceCmdlets(): CmdletDeclaration[] {
  const getState = defineCmdlet({
    name: 'Get-ServerComponentState',
    synopsis: "Shows the state of a server's components (HubTransport, FrontendTransport, ServerWideOffline, …).",
    parameters: [
      { name: 'Identity', type: 'String', position: 0, mandatory: true, valueFromPipelineByPropertyName: true, description: 'Server name or FQDN.' },
      { name: 'Component', type: 'Enum', values: [...SERVER_COMPONENTS], description: 'Only this component.' },
    ],
    outputType: 'ServerComponentStatePresentationObject',
    role: 'Exchange Servers',
    changesState: false,
    examples: [{ code: 'Get-ServerComponentState EX01 -Component HubTransport', remarks: 'Whether EX01 takes new mail (Active) or finishes its queues (Draining).' }],
    async run(ctx, p) {
      const server = await resolveServerOrRunning(ctx, p.Identity as string);
      const components = p.Component ? [p.Component as ServerComponent] : [...SERVER_COMPONENTS];
      return components.map((c) => componentObject(server, c));
    },
  });

  const setState = defineCmdlet({
    name: 'Set-ServerComponentState',
    synopsis: "Sets a server component's state for a requester: HubTransport Draining takes the server out of mail flow (new SMTP mail gets 421 4.3.2) while it delivers what it holds.",
    description:
      'A component is as available as the most restrictive of its requesters says; ServerWideOffline Inactive makes every component Inactive. Set the same requester back to Active to return the server to mail flow.',
    parameters: [
      { name: 'Identity', type: 'String', position: 0, mandatory: true, valueFromPipelineByPropertyName: true, description: 'Server name or FQDN.' },
      { name: 'Component', type: 'Enum', values: [...SERVER_COMPONENTS], mandatory: true, description: 'HubTransport, FrontendTransport, ServerWideOffline, Monitoring or RecoveryActionsEnabled.' },
      { name: 'Requester', type: 'Enum', values: [...COMPONENT_REQUESTERS], mandatory: true, description: 'Who asks: Maintenance for an administrator.' },
      { name: 'State', type: 'Enum', values: ['Active', 'Inactive', 'Draining'], mandatory: true, description: 'Active, Inactive, or Draining (transport components).' },
    ],
    role: 'Exchange Servers',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [
      { code: 'Set-ServerComponentState EX01 -Component HubTransport -State Draining -Requester Maintenance', remarks: 'EX01 stops taking new mail and finishes its queues.' },
      { code: 'Set-ServerComponentState EX01 -Component HubTransport -State Active -Requester Maintenance', remarks: 'EX01 takes mail again.' },
    ],
    async run(ctx, p) {
      const server = await resolveServer(ctx.services.directory, p.Identity as string);
      const entry = { component: p.Component as ServerComponent, requester: p.Requester as ComponentRequester, state: p.State as ComponentState, timestamp: ctx.services.clock() };
      // Validated before the confirmation: a state the component cannot take is refused, not confirmed.
      setComponentState(server.componentStates ?? [], entry);
      if (!ctx.shouldProcess(`Setting the ${entry.component} component of server "${server.name}" to ${entry.state} for requester ${entry.requester}.`, server.name)) return;
      await ctx.services.directory.exclusive(async (tx) => {
        const fresh = await tx.getServer(server.name);
        if (!fresh) throw new InterchangeError('ICX_SERVER_NOT_FOUND', `The operation couldn't be performed because object '${p.Identity as string}' couldn't be found on the directory of organization servers.`);
        await tx.updateServer({ ...fresh, componentStates: setComponentState(fresh.componentStates ?? [], entry) });
      });
    },
  });

  const testHealth = defineCmdlet({
    name: 'Test-ServiceHealth',
    synopsis: "Says whether the services a server's role needs are running: MSExchangeTransport, and (an Interchange addition) whether the server reaches its directory.",
    parameters: [{ name: 'Server', type: 'String', position: 0, valueFromPipelineByPropertyName: true, description: 'Server name or FQDN; default: the connected server.', aliases: ['Identity'] }],
    outputType: 'ServiceHealth',
    role: 'Exchange Servers',
    changesState: false,
    examples: [{ code: 'Get-ExchangeServer | Test-ServiceHealth', remarks: 'Every server: are its required services running?' }],
    async run(ctx: CmdletContext, p) {
      const target = (p.Server as string | undefined) ?? ctx.services.localServer;
      const server = await resolveServerOrRunning(ctx, target);
      if (server.name.toLowerCase() !== ctx.services.localServer.toLowerCase()) return forward(ctx, server.name, 'Test-ServiceHealth', { Server: server.name });
      const running = ctx.services.transport?.status() === 'Running';
      return {
        $type: 'ServiceHealth',
        Role: 'Mailbox Server Role',
        RequiredServicesRunning: running,
        ServicesRunning: running ? ['MSExchangeTransport'] : [],
        ServicesNotRunning: running ? [] : ['MSExchangeTransport'],
        Server: server.name,
        DirectoryAvailable: ctx.services.directoryHealth?.state().reachable ?? true,
      };
    },
  });

  const testMailflow = defineCmdlet({
    name: 'Test-Mailflow',
    synopsis: 'Sends a test message from one server of the organization to another and reports whether it arrived and how long it took.',
    description:
      "The source server (-Identity, default the connected one) sends the message as its real mail to the target takes: SMTP to the target's Default Frontend Receive connector, STARTTLS, each server authenticated by its internal transport certificate. " +
      "Exchange delivers the message to a system mailbox of the target; Interchange has no mailboxes, so the test ends when the target's transport accepts the message (its 250, given once the message is taken whole), and the target keeps nothing. " +
      'On failure TestMailflowResult is *FAILURE*, as in Exchange, and Error (an Interchange addition) says why: no connection, TLS, a certificate that is not the target\'s internal transport certificate, a refusal, or the timeout.',
    parameters: [
      { name: 'Identity', type: 'String', position: 0, valueFromPipelineByPropertyName: true, description: 'The server the message is sent from (name or FQDN); default: the connected server.' },
      { name: 'TargetMailboxServer', type: 'String', mandatory: true, description: 'The server of the organization the message is sent to (name or FQDN).' },
      { name: 'ExecutionTimeout', type: 'Int32', range: [1, 3600], description: 'Seconds to wait for the target to accept the message (default 240, as in Exchange).' },
    ],
    outputType: 'TestMailflowResult',
    role: 'Exchange Servers',
    changesState: false,
    examples: [
      { code: 'Test-Mailflow EX01 -TargetMailboxServer EX02', remarks: 'Can EX01 send to EX02, and how fast?' },
      { code: "Get-ExchangeServer | Where-Object { $_.Name -ne 'EX01' } | ForEach-Object { Test-Mailflow EX01 -TargetMailboxServer $_.Name }", remarks: 'From EX01 to every other server.' },
    ],
    async run(ctx: CmdletContext, p) {
      const source = await resolveServerOrRunning(ctx, (p.Identity as string | undefined) ?? ctx.services.localServer);
      const target = await resolveServer(ctx.services.directory, p.TargetMailboxServer as string);
      if (source.name.toLowerCase() !== ctx.services.localServer.toLowerCase()) {
        return forward(ctx, source.name, 'Test-Mailflow', { ...p, Identity: source.name, TargetMailboxServer: target.name });
      }
      const result = (latencyMs: number, error?: string) => ({
        $type: 'TestMailflowResult',
        TestMailflowResult: error === undefined ? 'Success' : '*FAILURE*',
        MessageLatencyTime: formatTimeSpan(Math.round(latencyMs)),
        IsRemoteTest: source.name.toLowerCase() !== target.name.toLowerCase(),
        Identity: null,
        IsValid: true,
        SourceServer: source.name,
        TargetServer: target.name,
        Error: error ?? null,
      });
      const endpoint = redirectEndpoint(target, await ctx.services.directory.listReceiveConnectors(target.name));
      if (!endpoint.ok) {
        ctx.writeWarning(endpoint.reason);
        return result(0, endpoint.reason);
      }
      const transport = ctx.services.transport;
      if (!transport?.testMailflow || transport.status() !== 'Running') {
        throw new InterchangeError('ICX_TRANSPORT_STOPPED', `Exchange can't connect to the Microsoft Exchange Transport service on computer "${source.name}". Verify that the service is started.`);
      }
      try {
        const r = await transport.testMailflow(endpoint.target, ((p.ExecutionTimeout as number | undefined) ?? 240) * 1000);
        return result(r.latencyMs);
      } catch (e) {
        const reason = e instanceof DeliveryError ? e.reply : (e as Error).message;
        ctx.writeWarning(`The test message from ${source.name} to ${target.name} did not arrive: ${reason}`);
        return result(0, reason);
      }
    },
  });

  return [getState, setState, testHealth, testMailflow];
}
