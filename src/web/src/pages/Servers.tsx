import { Badge, Dropdown, Field, Input, makeStyles, Option, Text, Toolbar, ToolbarButton, ToolbarDivider, tokens } from '@fluentui/react-components';
import { ArrowClockwiseRegular, DocumentTextRegular, PlayRegular, RecordStopRegular } from '@fluentui/react-icons';
import { useEffect, useState } from 'react';
import { fieldError, formError, useAdmin, useCmdlet, useCmdletQuery } from '../api/admin-context';
import type { CmdletObject, WireError, WireValue } from '../api/client';
import { CmdletErrorBar, ConfirmDialog, Detail, Loading, PageHeader, str } from '../components/common';
import { FormDialog } from '../components/form-dialog';
import { ObjectList } from '../components/object-list';

const useStyles = makeStyles({
  toolbar: { borderBottom: `1px solid ${tokens.colorNeutralStroke2}`, marginBottom: '4px' },
  layout: { display: 'grid', gridTemplateColumns: 'minmax(420px, 1fr) 420px', gap: '20px', alignItems: 'start', marginTop: '8px' },
  pane: { border: `1px solid ${tokens.colorNeutralStroke2}`, borderRadius: tokens.borderRadiusMedium, padding: '14px 16px' },
  paneTitle: { fontSize: tokens.fontSizeBase400, fontWeight: tokens.fontWeightSemibold, margin: '0 0 8px 0' },
});

const LOG_FIELDS = [
  ['SendProtocolLogPath', 'Send protocol log path'],
  ['ReceiveProtocolLogPath', 'Receive protocol log path'],
  ['SendProtocolLogMaxAge', 'Send log maximum age'],
  ['ReceiveProtocolLogMaxAge', 'Receive log maximum age'],
  ['SendProtocolLogMaxDirectorySize', 'Send log maximum folder size'],
  ['ReceiveProtocolLogMaxDirectorySize', 'Receive log maximum folder size'],
  ['SendProtocolLogMaxFileSize', 'Send log maximum file size'],
  ['ReceiveProtocolLogMaxFileSize', 'Receive log maximum file size'],
] as const;

const sizeInput = (v: unknown) => str(v).replace(/\s*\(.*\)$/, '').replace(/\s+/g, '');

function TransportLogsDialog(props: { settings: CmdletObject; onClose(): void }) {
  const run = useCmdlet();
  const { notify } = useAdmin();
  const initial = Object.fromEntries(LOG_FIELDS.map(([k]) => [k, k.endsWith('Size') ? sizeInput(props.settings[k]) : str(props.settings[k])]));
  const [values, setValues] = useState<Record<string, string>>({ ...initial, IntraOrgConnectorProtocolLoggingLevel: str(props.settings.IntraOrgConnectorProtocolLoggingLevel) });
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const save = async () => {
    const p: Record<string, WireValue> = {};
    for (const [k] of LOG_FIELDS) if (values[k] !== initial[k]) p[k] = values[k];
    if (values.IntraOrgConnectorProtocolLoggingLevel !== str(props.settings.IntraOrgConnectorProtocolLoggingLevel)) p.IntraOrgConnectorProtocolLoggingLevel = values.IntraOrgConnectorProtocolLoggingLevel;
    if (!Object.keys(p).length) return props.onClose();
    setBusy(true);
    const res = await run('Set-TransportService', { Identity: str(props.settings.Name), ...p });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    notify(`Transport logs of ${str(props.settings.Name)} saved.`);
    props.onClose();
  };
  return (
    <FormDialog open wide title={`Transport logs — ${str(props.settings.Name)}`} submitLabel="Save" busy={busy} onSubmit={save} onClose={props.onClose}>
      <CmdletErrorBar error={formError(error, [...LOG_FIELDS.map(([k]) => k), 'IntraOrgConnectorProtocolLoggingLevel'])} />
      {LOG_FIELDS.map(([k, label]) => (
        <Field key={k} label={label} orientation="horizontal" validationMessage={fieldError(error, k)}>
          <Input value={values[k]} onChange={(_, d) => setValues((v) => ({ ...v, [k]: d.value }))} />
        </Field>
      ))}
      <Field label="Intra-organization protocol logging" orientation="horizontal" validationMessage={fieldError(error, 'IntraOrgConnectorProtocolLoggingLevel')}>
        <Dropdown value={values.IntraOrgConnectorProtocolLoggingLevel} selectedOptions={[values.IntraOrgConnectorProtocolLoggingLevel]} onOptionSelect={(_, d) => setValues((v) => ({ ...v, IntraOrgConnectorProtocolLoggingLevel: d.optionValue ?? 'None' }))}>
          <Option value="None">None</Option>
          <Option value="Verbose">Verbose</Option>
        </Dropdown>
      </Field>
    </FormDialog>
  );
}

/** When the server's process last recorded its heartbeat, and what that says now. */
function lastSeenText(server: CmdletObject | undefined): string {
  if (!server?.LastSeen) return 'Never';
  return `${new Date(str(server.LastSeen)).toLocaleString()} (${str(server.Reachability)})`;
}

/** Get-Service -ComputerName for each server: the transport service's state, or why it cannot be read. */
function useServiceStates(servers: string[], reloadKey: number) {
  const { api } = useAdmin();
  const [states, setStates] = useState<Record<string, { status?: string; error?: WireError }>>({});
  useEffect(() => {
    let live = true;
    void Promise.all(
      servers.map(async (s) => {
        const r = await api.invoke('Get-Service', { Name: ['MSExchangeTransport'], ComputerName: s });
        return [s, r.ok ? { status: str(r.output[0]?.Status) } : { error: r.error }] as const;
      }),
    ).then((pairs) => live && setStates(Object.fromEntries(pairs)));
    return () => {
      live = false;
    };
  }, [api, servers.join(','), reloadKey]);
  return states;
}

export function ServersPage() {
  const s = useStyles();
  const run = useCmdlet();
  const { notify } = useAdmin();
  const servers = useCmdletQuery('Get-ExchangeServer', {});
  const transport = useCmdletQuery('Get-TransportService', {});
  const [reloadKey, setReloadKey] = useState(0);
  const names = (servers.data ?? []).map((x) => str(x.Name));
  const states = useServiceStates(names, reloadKey);
  const [selected, setSelected] = useState<string>();
  const [action, setAction] = useState<'stop' | 'start' | 'logs'>();
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const settings = transport.data?.find((t) => t.Name === selected);
  const state = selected ? states[selected] : undefined;

  const refresh = () => {
    servers.reload();
    transport.reload();
    setReloadKey((k) => k + 1);
  };

  const control = async () => {
    if (!selected || (action !== 'stop' && action !== 'start')) return;
    setBusy(true);
    const res = await run(action === 'stop' ? 'Stop-Service' : 'Start-Service', { Name: ['MSExchangeTransport'], ComputerName: selected }, { confirmed: true });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    notify(`Microsoft Exchange Transport ${action === 'stop' ? 'stopped' : 'started'} on ${selected}.`);
    setAction(undefined);
    setReloadKey((k) => k + 1);
  };

  const stateBadge = (name: string) => {
    const st = states[name];
    if (!st) return <Text size={200}>…</Text>;
    if (st.error) return <Badge appearance="tint" color="subtle">Unknown</Badge>;
    return (
      <Badge appearance="filled" color={st.status === 'Running' ? 'success' : st.status === 'Stopped' ? 'danger' : 'warning'}>
        {st.status}
      </Badge>
    );
  };

  return (
    <>
      <PageHeader title="Servers" description="The transport servers of the organization, the state of each one's Microsoft Exchange Transport service, and where it writes its SMTP protocol logs." />
      <Toolbar aria-label="Server actions" className={s.toolbar}>
        <ToolbarButton icon={<RecordStopRegular />} disabled={!selected || state?.status !== 'Running'} onClick={() => setAction('stop')}>
          Stop transport
        </ToolbarButton>
        <ToolbarButton icon={<PlayRegular />} disabled={!selected || state?.status !== 'Stopped'} onClick={() => setAction('start')}>
          Start transport
        </ToolbarButton>
        <ToolbarButton icon={<DocumentTextRegular />} disabled={!settings} onClick={() => setAction('logs')}>
          Transport logs
        </ToolbarButton>
        <ToolbarDivider />
        <ToolbarButton icon={<ArrowClockwiseRegular />} onClick={refresh}>
          Refresh
        </ToolbarButton>
      </Toolbar>
      <CmdletErrorBar error={servers.error ?? transport.error} />
      <div className={s.layout}>
        {servers.loading && !servers.data ? (
          <Loading />
        ) : (
          <ObjectList
            label="Servers"
            items={servers.data ?? []}
            getKey={(x) => str(x.Name)}
            selectedKey={selected}
            onSelect={setSelected}
            onOpen={(x) => (setSelected(str(x.Name)), setAction('logs'))}
            columns={[
              { id: 'name', title: 'Name', grow: 0.7, sortValue: (x) => str(x.Name), render: (x) => str(x.Name) },
              { id: 'fqdn', title: 'FQDN', grow: 1.6, render: (x) => str(x.Fqdn) },
              { id: 'role', title: 'Role', grow: 0.8, render: (x) => str(x.ServerRole) },
              { id: 'transport', title: 'Transport service', render: (x) => stateBadge(str(x.Name)) },
              { id: 'version', title: 'Version', grow: 1, render: (x) => (x.InterchangeVersion ? `Interchange ${str(x.InterchangeVersion)}` : '') },
              { id: 'reachability', title: 'Reachability', grow: 0.8, render: (x) => str(x.Reachability) },
            ]}
          />
        )}
        <aside className={s.pane} aria-label="Server details">
          {!selected ? (
            <Text>Select a server to see its transport service and protocol log settings.</Text>
          ) : (
            <>
              <h2 className={s.paneTitle}>{selected}</h2>
              <dl style={{ margin: 0 }}>
                <Detail label="Last seen">{lastSeenText(servers.data?.find((x) => str(x.Name) === selected))}</Detail>
                <Detail label="Microsoft Exchange Transport">{state?.error ? state.error.message : state?.status ?? '…'}</Detail>
                {settings && (
                  <>
                    <Detail label="Internal transport certificate" mono>
                      {str(settings.InternalTransportCertificateThumbprint) || 'None'}
                    </Detail>
                    {LOG_FIELDS.map(([k, label]) => (
                      <Detail key={k} label={label} mono={k.endsWith('Path')}>
                        {str(settings[k])}
                      </Detail>
                    ))}
                    <Detail label="Intra-organization protocol logging">{str(settings.IntraOrgConnectorProtocolLoggingLevel)}</Detail>
                  </>
                )}
              </dl>
            </>
          )}
        </aside>
      </div>
      {action === 'logs' && settings && <TransportLogsDialog settings={settings} onClose={() => (setAction(undefined), transport.reload())} />}
      {selected && (
        <ConfirmDialog
          open={action === 'stop' || action === 'start'}
          title={action === 'stop' ? 'Stop the transport service' : 'Start the transport service'}
          text={
            action === 'stop'
              ? `Stop the Microsoft Exchange Transport service on ${selected}? Mail flow on ${selected} stops until you start the service again; queued messages are kept.`
              : `Start the Microsoft Exchange Transport service on ${selected}?`
          }
          confirmLabel={action === 'stop' ? 'Stop' : 'Start'}
          busy={busy}
          error={error}
          onConfirm={control}
          onCancel={() => (setAction(undefined), setError(undefined))}
        />
      )}
    </>
  );
}
