import { Checkbox, Field, Input, makeStyles, Radio, RadioGroup, Switch, Tab, TabList, Toolbar, ToolbarButton, ToolbarDivider, tokens } from '@fluentui/react-components';
import { AddRegular, ArrowClockwiseRegular, DeleteRegular, EditRegular } from '@fluentui/react-icons';
import { useState } from 'react';
import { fieldError, formError, useAdmin, useCmdlet, useCmdletQuery } from '../api/admin-context';
import type { CmdletObject, WireError, WireValue } from '../api/client';
import { CheckboxGroup } from '../components/checkbox-group';
import { CmdletErrorBar, ConfirmDialog, list, Loading, PageHeader, str } from '../components/common';
import { FormDialog } from '../components/form-dialog';
import { ObjectList } from '../components/object-list';
import { ServerPicker } from '../components/server-picker';

const useStyles = makeStyles({ toolbar: { borderBottom: `1px solid ${tokens.colorNeutralStroke2}`, marginBottom: '4px' } });
const AUTH = ['Tls', 'Integrated', 'BasicAuth', 'BasicAuthRequireTLS', 'ExchangeServer', 'ExternalAuthoritative'];
const PERMISSIONS = ['AnonymousUsers', 'ExchangeUsers', 'ExchangeServers', 'ExchangeLegacyServers', 'Partners'];
const splitList = (t: string) => t.split(/[,\s]+/).map((x) => x.trim()).filter(Boolean);
const flags = (v: unknown) => str(v).split(',').map((x) => x.trim()).filter((x) => x && x !== 'None');

function FlagBoxes(props: { label: string; all: string[]; value: string[]; onChange(v: string[]): void; error?: string }) {
  return <CheckboxGroup label={props.label} columns={2} options={props.all.map((x) => ({ value: x, label: x }))} value={props.value} onChange={props.onChange} error={props.error} />;
}

function NewReceiveConnector(props: { server: string; onClose(): void; onDone(name: string): void }) {
  const run = useCmdlet();
  const [name, setName] = useState('');
  const [usage, setUsage] = useState('Custom');
  const [bindings, setBindings] = useState('0.0.0.0:2526');
  const [ranges, setRanges] = useState('');
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    const res = await run('New-ReceiveConnector', { Name: name, Server: props.server, Usage: usage, Bindings: splitList(bindings), RemoteIPRanges: ranges ? splitList(ranges) : undefined });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    props.onDone(name);
  };
  return (
    <FormDialog open title="New receive connector" submitLabel="Create" busy={busy} canSubmit={!!name.trim()} onSubmit={submit} onClose={props.onClose}>
      <CmdletErrorBar error={formError(error, ['Name', 'Usage', 'Bindings', 'RemoteIPRanges'])} />
      <Field label="Name" required validationMessage={fieldError(error, 'Name')}>
        <Input value={name} onChange={(_, d) => setName(d.value)} />
      </Field>
      <Field label="Type" validationMessage={fieldError(error, 'Usage')}>
        <RadioGroup layout="horizontal" value={usage} onChange={(_, d) => setUsage(d.value)}>
          {['Custom', 'Internet', 'Internal', 'Partner', 'Client'].map((u) => (
            <Radio key={u} value={u} label={u} />
          ))}
        </RadioGroup>
      </Field>
      <Field label="Network adapter bindings" hint="IP:port, separated by commas" validationMessage={fieldError(error, 'Bindings')}>
        <Input value={bindings} onChange={(_, d) => setBindings(d.value)} />
      </Field>
      <Field label="Remote network settings" hint="Addresses, ranges or CIDR; empty for all" validationMessage={fieldError(error, 'RemoteIPRanges')}>
        <Input value={ranges} onChange={(_, d) => setRanges(d.value)} />
      </Field>
    </FormDialog>
  );
}

function EditReceiveConnector(props: { connector: CmdletObject; onClose(): void }) {
  const run = useCmdlet();
  const { notify } = useAdmin();
  const c = props.connector;
  const [tab, setTab] = useState('general');
  const [name, setName] = useState(str(c.Name));
  const [enabled, setEnabled] = useState(c.Enabled === true);
  const [logging, setLogging] = useState(str(c.ProtocolLoggingLevel));
  const [fqdn, setFqdn] = useState(str(c.Fqdn));
  const [auth, setAuth] = useState(flags(c.AuthMechanism));
  const [perm, setPerm] = useState(flags(c.PermissionGroups));
  const [requireTls, setRequireTls] = useState(c.RequireTLS === true);
  const [tlsName, setTlsName] = useState(str(c.TlsCertificateName));
  const [bindings, setBindings] = useState(list(c.Bindings).join(', '));
  const [ranges, setRanges] = useState(list(c.RemoteIPRanges).join(', '));
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const tabOf: Record<string, string> = { name: 'general', enabled: 'general', protocollogginglevel: 'general', fqdn: 'general', authmechanism: 'security', permissiongroups: 'security', requiretls: 'security', tlscertificatename: 'security', bindings: 'scoping', remoteipranges: 'scoping' };

  const save = async () => {
    const p: Record<string, WireValue> = {};
    if (name !== str(c.Name)) p.Name = name;
    if (enabled !== (c.Enabled === true)) p.Enabled = enabled;
    if (logging !== str(c.ProtocolLoggingLevel)) p.ProtocolLoggingLevel = logging;
    if (fqdn !== str(c.Fqdn)) p.Fqdn = fqdn || null;
    if (auth.join(',') !== flags(c.AuthMechanism).join(',')) p.AuthMechanism = auth.length ? auth.join(',') : 'None';
    if (perm.join(',') !== flags(c.PermissionGroups).join(',')) p.PermissionGroups = perm.length ? perm.join(',') : 'None';
    if (requireTls !== (c.RequireTLS === true)) p.RequireTLS = requireTls;
    if (tlsName !== str(c.TlsCertificateName)) p.TlsCertificateName = tlsName || null;
    if (bindings !== list(c.Bindings).join(', ')) p.Bindings = splitList(bindings);
    if (ranges !== list(c.RemoteIPRanges).join(', ')) p.RemoteIPRanges = splitList(ranges);
    if (!Object.keys(p).length) return props.onClose();
    setBusy(true);
    const res = await run('Set-ReceiveConnector', { Identity: str(c.Identity), ...p });
    setBusy(false);
    if (!res.ok) {
      setError(res.error);
      const t = tabOf[res.error?.parameter?.toLowerCase() ?? ''];
      if (t) setTab(t);
      return;
    }
    notify(`Receive connector "${name}" saved.`);
    props.onClose();
  };

  return (
    <FormDialog open wide title={`Receive connector — ${str(c.Identity)}`} submitLabel="Save" busy={busy} onSubmit={save} onClose={props.onClose}>
      <TabList selectedValue={tab} onTabSelect={(_, d) => setTab(String(d.value))} aria-label="Receive connector settings">
        <Tab value="general">general</Tab>
        <Tab value="security">security</Tab>
        <Tab value="scoping">scoping</Tab>
      </TabList>
      <CmdletErrorBar error={formError(error, Object.keys(tabOf))} />
      {tab === 'general' && (
        <>
          <Field label="Name" validationMessage={fieldError(error, 'Name')}>
            <Input value={name} onChange={(_, d) => setName(d.value)} />
          </Field>
          <Field label="Connector status">
            <Switch checked={enabled} label={enabled ? 'Enabled' : 'Disabled'} onChange={(_, d) => setEnabled(d.checked)} />
          </Field>
          <Field label="Protocol logging level">
            <RadioGroup layout="horizontal" value={logging} onChange={(_, d) => setLogging(d.value)}>
              <Radio value="None" label="None" />
              <Radio value="Verbose" label="Verbose" />
            </RadioGroup>
          </Field>
          <Field label="FQDN in the banner and EHLO reply" validationMessage={fieldError(error, 'Fqdn')}>
            <Input value={fqdn} onChange={(_, d) => setFqdn(d.value)} />
          </Field>
        </>
      )}
      {tab === 'security' && (
        <>
          <FlagBoxes label="Authentication" all={AUTH} value={auth} onChange={setAuth} error={fieldError(error, 'AuthMechanism')} />
          <FlagBoxes label="Permission groups" all={PERMISSIONS} value={perm} onChange={setPerm} error={fieldError(error, 'PermissionGroups')} />
          <Checkbox label="Require TLS" checked={requireTls} onChange={(_, d) => setRequireTls(!!d.checked)} />
          <Field label="TLS certificate (TlsCertificateName)" hint="<I>issuer<S>subject; empty to choose by FQDN" validationMessage={fieldError(error, 'TlsCertificateName')}>
            <Input value={tlsName} onChange={(_, d) => setTlsName(d.value)} />
          </Field>
        </>
      )}
      {tab === 'scoping' && (
        <>
          <Field label="Network adapter bindings" validationMessage={fieldError(error, 'Bindings')}>
            <Input value={bindings} onChange={(_, d) => setBindings(d.value)} />
          </Field>
          <Field label="Remote network settings" validationMessage={fieldError(error, 'RemoteIPRanges')}>
            <Input value={ranges} onChange={(_, d) => setRanges(d.value)} />
          </Field>
        </>
      )}
    </FormDialog>
  );
}

export function ReceiveConnectorsPage() {
  const s = useStyles();
  const run = useCmdlet();
  const [server, setServer] = useState<string>();
  const q = useCmdletQuery('Get-ReceiveConnector', { Server: server }, { skip: !server });
  const [selected, setSelected] = useState<string>();
  const [dialog, setDialog] = useState<'new' | 'edit' | 'delete'>();
  const [error, setError] = useState<WireError>();
  const items = q.data ?? [];
  const current = items.find((c) => c.Identity === selected);

  const remove = async () => {
    if (!current) return;
    const res = await run('Remove-ReceiveConnector', { Identity: str(current.Identity) }, { confirmed: true });
    if (!res.ok) return setError(res.error);
    setDialog(undefined);
    setSelected(undefined);
    q.reload();
  };

  return (
    <>
      <PageHeader title="Receive connectors" description="Receive connectors are per server: where each server listens for SMTP, whom it accepts mail from, and how.">
        <ServerPicker value={server} onChange={(v) => (setServer(v), setSelected(undefined))} />
      </PageHeader>
      <Toolbar aria-label="Receive connector actions" className={s.toolbar}>
        <ToolbarButton icon={<AddRegular />} disabled={!server} onClick={() => setDialog('new')}>
          New
        </ToolbarButton>
        <ToolbarButton icon={<EditRegular />} disabled={!current} onClick={() => setDialog('edit')}>
          Edit
        </ToolbarButton>
        <ToolbarButton icon={<DeleteRegular />} disabled={!current} onClick={() => setDialog('delete')}>
          Delete
        </ToolbarButton>
        <ToolbarDivider />
        <ToolbarButton icon={<ArrowClockwiseRegular />} onClick={q.reload}>
          Refresh
        </ToolbarButton>
      </Toolbar>
      <CmdletErrorBar error={q.error} />
      {q.loading && !q.data ? (
        <Loading />
      ) : (
        <ObjectList
          label={`Receive connectors on ${server ?? ''}`}
          items={items}
          getKey={(c) => str(c.Identity)}
          selectedKey={selected}
          onSelect={setSelected}
          onOpen={(c) => (setSelected(str(c.Identity)), setDialog('edit'))}
          columns={[
            { id: 'name', title: 'Name', sortValue: (c) => str(c.Name), render: (c) => str(c.Name) },
            { id: 'status', title: 'Status', render: (c) => (c.Enabled ? 'Enabled' : 'Disabled') },
            { id: 'role', title: 'Role', render: (c) => (str(c.TransportRole) === 'FrontendTransport' ? 'Frontend Transport' : 'Hub Transport') },
            { id: 'bindings', title: 'Bindings', render: (c) => list(c.Bindings).join(', ') },
            { id: 'listening', title: 'Listening', render: (c) => listeningText(list(c.BindingStatus)) },
            { id: 'auth', title: 'Authentication', render: (c) => str(c.AuthMechanism) },
          ]}
        />
      )}
      {dialog === 'new' && server && <NewReceiveConnector server={server} onClose={() => setDialog(undefined)} onDone={(n) => (setDialog(undefined), setSelected(`${server}\\${n}`), q.reload())} />}
      {dialog === 'edit' && current && <EditReceiveConnector connector={current} onClose={() => (setDialog(undefined), q.reload())} />}
      {current && (
        <ConfirmDialog
          open={dialog === 'delete'}
          title="Delete Receive connector"
          text={`Are you sure you want to delete the connector "${str(current.Name)}"?`}
          confirmLabel="Delete"
          error={error}
          onConfirm={remove}
          onCancel={() => (setDialog(undefined), setError(undefined))}
        />
      )}
    </>
  );
}

/** `Listening` when every binding is open; otherwise each binding that is not, with the transport's reason. */
function listeningText(status: string[]): string {
  const notOpen = status.filter((s) => !s.endsWith(' Listening'));
  if (status.length > 0 && notOpen.length === 0) return 'Listening';
  return notOpen.map((s) => s.replace(' ', ': ')).join('; ') || 'Unknown';
}
