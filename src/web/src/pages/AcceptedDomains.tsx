import { Checkbox, Field, Input, makeStyles, Radio, RadioGroup, Text, Toolbar, ToolbarButton, ToolbarDivider, tokens } from '@fluentui/react-components';
import { AddRegular, ArrowClockwiseRegular, DeleteRegular, EditRegular } from '@fluentui/react-icons';
import { useState } from 'react';
import { fieldError, formError, hasCmdlet, useAdmin, useCmdlet, useCmdletQuery } from '../api/admin-context';
import type { CmdletObject, WireError, WireValue } from '../api/client';
import { CmdletErrorBar, ConfirmDialog, Detail, formatDateTime, Loading, PageHeader, str } from '../components/common';
import { FormDialog } from '../components/form-dialog';
import { ObjectList } from '../components/object-list';

// Mail flow > Accepted domains, as in Exchange's admin center: the domains the
// organization takes mail for from anyone. Everything here is one of the
// *-AcceptedDomain cmdlets; the page decides nothing the cmdlets do not.

const useStyles = makeStyles({
  toolbar: { borderBottom: `1px solid ${tokens.colorNeutralStroke2}`, marginBottom: '4px' },
  layout: { display: 'grid', gridTemplateColumns: 'minmax(520px, 1fr) 360px', gap: '20px', alignItems: 'start' },
  pane: { border: `1px solid ${tokens.colorNeutralStroke2}`, borderRadius: tokens.borderRadiusMedium, padding: '14px 16px' },
  explanation: { display: 'block', color: tokens.colorNeutralForeground2 },
});

// Exchange's meaning of each type. Interchange has no mailboxes, so all three
// take anonymous mail alike and the Send connectors decide where it goes next.
const DOMAIN_TYPES = [
  { value: 'Authoritative', label: 'Authoritative', explanation: 'Every recipient in this domain belongs to this organization.' },
  { value: 'InternalRelay', label: 'Internal relay', explanation: 'Some recipients belong to this organization; mail for the others is relayed to another server of yours.' },
  { value: 'ExternalRelay', label: 'External relay', explanation: 'No recipient belongs to this organization; mail is relayed to a server outside it.' },
];
const typeLabel = (v: unknown) => DOMAIN_TYPES.find((t) => t.value === v)?.label ?? str(v);

function DomainTypeField(props: { value: string; onChange(v: string): void; error?: string }) {
  const s = useStyles();
  return (
    <Field label="This accepted domain is" hint="All three accept mail from anonymous senders; where it goes next follows the Send connectors." validationMessage={props.error}>
      <RadioGroup value={props.value} onChange={(_, d) => props.onChange(d.value)}>
        {DOMAIN_TYPES.map((t) => (
          <Radio
            key={t.value}
            value={t.value}
            label={
              <>
                {t.label}
                <Text size={200} className={s.explanation}>
                  {t.explanation}
                </Text>
              </>
            }
          />
        ))}
      </RadioGroup>
    </Field>
  );
}

function NewAcceptedDomain(props: { onClose(): void; onDone(name: string): void }) {
  const run = useCmdlet();
  const [name, setName] = useState('');
  const [domain, setDomain] = useState('');
  const [type, setType] = useState('Authoritative');
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    const res = await run('New-AcceptedDomain', { Name: name, DomainName: domain, DomainType: type });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    props.onDone(name);
  };
  return (
    <FormDialog open title="New accepted domain" submitLabel="Save" busy={busy} canSubmit={!!name.trim() && !!domain.trim()} onSubmit={submit} onClose={props.onClose}>
      <CmdletErrorBar error={formError(error, ['Name', 'DomainName', 'DomainType'])} />
      <Field label="Name" required validationMessage={fieldError(error, 'Name')}>
        <Input value={name} onChange={(_, d) => setName(d.value)} />
      </Field>
      <Field label="Accepted domain" required hint="e.g. contoso.com, or *.contoso.com for the domain and all its subdomains" validationMessage={fieldError(error, 'DomainName')}>
        <Input value={domain} onChange={(_, d) => setDomain(d.value)} />
      </Field>
      <DomainTypeField value={type} onChange={setType} error={fieldError(error, 'DomainType')} />
    </FormDialog>
  );
}

function EditAcceptedDomain(props: { domain: CmdletObject; onClose(): void; onDone(name: string): void }) {
  const run = useCmdlet();
  const d = props.domain;
  const [name, setName] = useState(str(d.Name));
  const [type, setType] = useState(str(d.DomainType));
  const [makeDefault, setMakeDefault] = useState(d.Default === true);
  const [subdomains, setSubdomains] = useState(d.MatchSubDomains === true);
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const save = async () => {
    // Only what changed: Set-AcceptedDomain refuses -MakeDefault $false on the default domain.
    const p: Record<string, WireValue> = {};
    if (name !== str(d.Name)) p.Name = name;
    if (type !== str(d.DomainType)) p.DomainType = type;
    if (makeDefault && d.Default !== true) p.MakeDefault = true;
    if (subdomains !== (d.MatchSubDomains === true)) p.MatchSubDomains = subdomains;
    if (!Object.keys(p).length) return props.onClose();
    setBusy(true);
    const res = await run('Set-AcceptedDomain', { Identity: str(d.Identity), ...p });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    props.onDone(name);
  };
  return (
    <FormDialog open title={`Accepted domain — ${str(d.Name)}`} submitLabel="Save" busy={busy} canSubmit={!!name.trim()} onSubmit={save} onClose={props.onClose}>
      <CmdletErrorBar error={formError(error, ['Name', 'DomainType', 'MakeDefault', 'MatchSubDomains'])} />
      <Field label="Name" required validationMessage={fieldError(error, 'Name')}>
        <Input value={name} onChange={(_, v) => setName(v.value)} />
      </Field>
      <Field label="Accepted domain">
        <Input value={str(d.DomainName)} readOnly />
      </Field>
      <DomainTypeField value={type} onChange={setType} error={fieldError(error, 'DomainType')} />
      <Field
        validationMessage={fieldError(error, 'MakeDefault')}
        hint={d.Default === true ? 'This is the default. To change it, make another accepted domain the default.' : undefined}
      >
        <Checkbox label="Make this the default accepted domain" checked={makeDefault} disabled={d.Default === true} onChange={(_, v) => setMakeDefault(!!v.checked)} />
      </Field>
      <Field validationMessage={fieldError(error, 'MatchSubDomains')}>
        <Checkbox label="Accept mail for all subdomains" checked={subdomains} onChange={(_, v) => setSubdomains(!!v.checked)} />
      </Field>
    </FormDialog>
  );
}

export function AcceptedDomainsPage() {
  const s = useStyles();
  const { catalog, notify } = useAdmin();
  const run = useCmdlet();
  const available = hasCmdlet(catalog, 'Get-AcceptedDomain');
  const domains = useCmdletQuery('Get-AcceptedDomain', {}, { skip: !available, watchChanges: true });
  const [selected, setSelected] = useState<string>();
  const [action, setAction] = useState<'new' | 'edit' | 'delete'>();
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const current = domains.data?.find((d) => str(d.Guid) === selected);

  const remove = async () => {
    if (!current) return;
    setBusy(true);
    const res = await run('Remove-AcceptedDomain', { Identity: str(current.Identity) }, { confirmed: true });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    notify(`The accepted domain "${str(current.Name)}" was deleted.`);
    setAction(undefined);
    setSelected(undefined);
    domains.reload();
  };

  return (
    <>
      <PageHeader
        title="Accepted domains"
        description="Anonymous senders may send only to accepted domains. Mail for any other domain is relayed only for an authenticated session or when the Receive connector grants relay permission (ms-Exch-SMTP-Accept-Any-Recipient, with Add-ADPermission)."
      />
      <Toolbar aria-label="Accepted domain actions" className={s.toolbar}>
        <ToolbarButton icon={<AddRegular />} disabled={!available} onClick={() => setAction('new')}>
          New
        </ToolbarButton>
        <ToolbarButton icon={<EditRegular />} disabled={!current} onClick={() => setAction('edit')}>
          Edit
        </ToolbarButton>
        <ToolbarButton icon={<DeleteRegular />} disabled={!current} onClick={() => (setError(undefined), setAction('delete'))}>
          Delete
        </ToolbarButton>
        <ToolbarDivider />
        <ToolbarButton icon={<ArrowClockwiseRegular />} onClick={domains.reload}>
          Refresh
        </ToolbarButton>
      </Toolbar>
      <CmdletErrorBar error={domains.error} />
      <div className={s.layout}>
        {domains.loading && !domains.data ? (
          <Loading />
        ) : (
          <ObjectList
            label="Accepted domains"
            items={domains.data ?? []}
            getKey={(d) => str(d.Guid)}
            selectedKey={selected}
            onSelect={setSelected}
            onOpen={(d) => (setSelected(str(d.Guid)), setAction('edit'))}
            columns={[
              { id: 'name', title: 'Name', grow: 1, sortValue: (d) => str(d.Name), render: (d) => str(d.Name) },
              { id: 'domain', title: 'Accepted domain', grow: 1.2, sortValue: (d) => str(d.DomainName), render: (d) => str(d.DomainName) },
              { id: 'type', title: 'Domain type', grow: 0.8, sortValue: (d) => typeLabel(d.DomainType), render: (d) => typeLabel(d.DomainType) },
              { id: 'default', title: 'Default', grow: 0.5, sortValue: (d) => (d.Default === true ? 0 : 1), render: (d) => (d.Default === true ? 'Yes' : '') },
            ]}
            empty="No accepted domains: anonymous senders can send mail to no one. Create one with New."
          />
        )}
        <aside className={s.pane} aria-label="Accepted domain details">
          {!current ? (
            <Text>Select an accepted domain to see its details.</Text>
          ) : (
            <dl style={{ margin: 0 }}>
              <Detail label="Name">{str(current.Name)}</Detail>
              <Detail label="Accepted domain">{str(current.DomainName)}</Detail>
              <Detail label="Domain type">{typeLabel(current.DomainType)}</Detail>
              <Detail label="Default">{current.Default === true ? 'Yes' : 'No'}</Detail>
              <Detail label="Subdomains">{current.MatchSubDomains === true ? 'Accepted too' : 'Not accepted'}</Detail>
              <Detail label="Created">{formatDateTime(current.WhenCreated)}</Detail>
              <Detail label="Changed">{formatDateTime(current.WhenChanged)}</Detail>
            </dl>
          )}
        </aside>
      </div>
      {action === 'new' && (
        <NewAcceptedDomain onClose={() => setAction(undefined)} onDone={(name) => (setAction(undefined), notify(`The accepted domain "${name}" was created.`), domains.reload())} />
      )}
      {action === 'edit' && current && (
        <EditAcceptedDomain domain={current} onClose={() => setAction(undefined)} onDone={(name) => (setAction(undefined), notify(`The accepted domain "${name}" was saved.`), domains.reload())} />
      )}
      {current && (
        <ConfirmDialog
          open={action === 'delete'}
          title="Delete accepted domain"
          text={`Delete the accepted domain "${str(current.Name)}" (${str(current.DomainName)})? Anonymous senders can then no longer send mail to it.`}
          confirmLabel="Delete"
          busy={busy}
          error={error}
          onConfirm={() => void remove()}
          onCancel={() => (setAction(undefined), setError(undefined))}
        />
      )}
    </>
  );
}
