import { Link, makeStyles, Toolbar, ToolbarButton, ToolbarDivider, tokens } from '@fluentui/react-components';
import { AddRegular, ArrowClockwiseRegular, CheckmarkCircleRegular, DeleteRegular, EditRegular, ProhibitedRegular } from '@fluentui/react-icons';
import { useEffect, useState } from 'react';
import { useAdmin, useCmdlet, useCmdletQuery } from '../api/admin-context';
import type { CmdletObject, WireError } from '../api/client';
import { CmdletErrorBar, ConfirmDialog, list, Loading, PageHeader, str } from '../components/common';
import { ObjectList } from '../components/object-list';
import { navigate, useLocation } from '../router';
import { EditSendConnectorDialog } from './send-connector-edit';
import { NewSendConnectorWizard } from './send-connector-wizard';

const useStyles = makeStyles({
  toolbar: { borderBottom: `1px solid ${tokens.colorNeutralStroke2}`, marginBottom: '4px' },
  tls: { display: 'flex', flexDirection: 'column' },
  issuer: { color: tokens.colorNeutralForeground2, fontSize: tokens.fontSizeBase200 },
});

type Action = 'enable' | 'disable' | 'delete';

/** TlsCertificateName shown as subject and issuer; the full value on hover. */
function TlsName(props: { value: string | null }) {
  const s = useStyles();
  if (!props.value) return <span>None</span>;
  const m = /^(?:<I>(.*?))?<S>(.*)$/is.exec(props.value);
  return (
    <span title={props.value} className={s.tls}>
      <span>{m?.[2] ?? props.value}</span>
      {m?.[1] && <span className={s.issuer}>issued by {m[1]}</span>}
    </span>
  );
}

export function SendConnectorsPage() {
  const s = useStyles();
  const run = useCmdlet();
  const { notify } = useAdmin();
  const { query } = useLocation();
  const connectors = useCmdletQuery('Get-SendConnector', {});
  const [selected, setSelected] = useState<string | undefined>(query.get('open') ?? undefined);
  const [editing, setEditing] = useState<{ name: string; tab?: string } | undefined>(query.get('open') ? { name: query.get('open')!, tab: query.get('tab') ?? undefined } : undefined);
  const [creating, setCreating] = useState(false);
  const [action, setAction] = useState<Action | undefined>();
  const [actionError, setActionError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const items = connectors.data ?? [];
  const current = items.find((c) => c.Name === selected);

  useEffect(() => {
    const open = query.get('open');
    if (open) {
      setSelected(open);
      setEditing({ name: open, tab: query.get('tab') ?? undefined });
    }
  }, [query.get('open')]);

  const closeEdit = () => {
    setEditing(undefined);
    if (query.get('open')) navigate('/mail-flow/send-connectors');
    connectors.reload();
  };

  const act = async () => {
    if (!current || !action) return;
    setBusy(true);
    const res =
      action === 'delete'
        ? await run('Remove-SendConnector', { Identity: str(current.Name) }, { confirmed: true })
        : await run('Set-SendConnector', { Identity: str(current.Name), Enabled: action === 'enable' }, { confirmed: true });
    setBusy(false);
    if (!res.ok) return setActionError(res.error);
    notify(action === 'delete' ? `Send connector "${str(current.Name)}" deleted.` : `Send connector "${str(current.Name)}" ${action}d.`);
    if (action === 'delete') setSelected(undefined);
    setAction(undefined);
    connectors.reload();
  };

  return (
    <>
      <PageHeader title="Send connectors" description="Send connectors route mail from your transport servers to other domains: by MX records or through smart hosts, for the address spaces they serve, from their source servers." />
      <Toolbar aria-label="Send connector actions" className={s.toolbar}>
        <ToolbarButton icon={<AddRegular />} onClick={() => setCreating(true)}>
          New
        </ToolbarButton>
        <ToolbarButton icon={<EditRegular />} disabled={!current} onClick={() => current && setEditing({ name: str(current.Name) })}>
          Edit
        </ToolbarButton>
        <ToolbarDivider />
        <ToolbarButton icon={<CheckmarkCircleRegular />} disabled={!current || current.Enabled === true} onClick={() => setAction('enable')}>
          Enable
        </ToolbarButton>
        <ToolbarButton icon={<ProhibitedRegular />} disabled={!current || current.Enabled === false} onClick={() => setAction('disable')}>
          Disable
        </ToolbarButton>
        <ToolbarButton icon={<DeleteRegular />} disabled={!current} onClick={() => setAction('delete')}>
          Delete
        </ToolbarButton>
        <ToolbarDivider />
        <ToolbarButton icon={<ArrowClockwiseRegular />} onClick={connectors.reload}>
          Refresh
        </ToolbarButton>
      </Toolbar>
      <CmdletErrorBar error={connectors.error} />
      {connectors.loading && !connectors.data ? (
        <Loading />
      ) : (
        <ObjectList<CmdletObject>
          label="Send connectors"
          items={items}
          getKey={(c) => str(c.Name)}
          selectedKey={selected}
          onSelect={setSelected}
          onOpen={(c) => setEditing({ name: str(c.Name) })}
          columns={[
            { id: 'name', title: 'Name', grow: 1.2, sortValue: (c) => str(c.Name), render: (c) => str(c.Name) },
            { id: 'status', title: 'Status', grow: 0.7, sortValue: (c) => (c.Enabled ? 'Enabled' : 'Disabled'), render: (c) => (c.Enabled ? 'Enabled' : 'Disabled') },
            { id: 'spaces', title: 'Address spaces', render: (c) => list(c.AddressSpaces).join(', ') },
            { id: 'servers', title: 'Source servers', grow: 0.8, render: (c) => list(c.SourceTransportServers).join(', ') },
            { id: 'tls', title: 'TLS certificate', grow: 2.2, render: (c) => <TlsName value={c.TlsCertificateName as string | null} /> },
          ]}
          empty={
            <>
              No Send connectors yet. <Link onClick={() => setCreating(true)}>Create one</Link> to send mail to other domains.
            </>
          }
        />
      )}
      {creating && (
        <NewSendConnectorWizard
          onClose={() => setCreating(false)}
          onCreated={(name) => {
            setCreating(false);
            setSelected(name);
            connectors.reload();
          }}
        />
      )}
      {editing && <EditSendConnectorDialog name={editing.name} initialTab={editing.tab} onClose={closeEdit} />}
      {current && (
        <ConfirmDialog
          open={!!action}
          title={action === 'delete' ? 'Delete Send connector' : action === 'enable' ? 'Enable Send connector' : 'Disable Send connector'}
          text={`Are you sure you want to ${action} the connector "${str(current.Name)}"?`}
          confirmLabel={action === 'delete' ? 'Delete' : action === 'enable' ? 'Enable' : 'Disable'}
          busy={busy}
          error={actionError}
          onConfirm={act}
          onCancel={() => {
            setAction(undefined);
            setActionError(undefined);
          }}
        />
      )}
    </>
  );
}
