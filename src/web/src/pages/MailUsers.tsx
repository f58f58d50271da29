import { Field, Input, makeStyles, Text, Toolbar, ToolbarButton, ToolbarDivider, tokens } from '@fluentui/react-components';
import { AddRegular, ArrowClockwiseRegular, DeleteRegular, KeyResetRegular } from '@fluentui/react-icons';
import { useState } from 'react';
import { fieldError, formError, hasCmdlet, useAdmin, useCmdlet, useCmdletQuery } from '../api/admin-context';
import { secure, type CmdletObject, type WireError } from '../api/client';
import { CmdletErrorBar, ConfirmDialog, Detail, formatDateTime, Loading, PageHeader, str } from '../components/common';
import { FormDialog } from '../components/form-dialog';
import { ObjectList } from '../components/object-list';

// Recipients > Contacts, as in Exchange's admin center, for the mail users
// Interchange has: the accounts that can authenticate with SMTP AUTH on a
// Receive connector that offers BasicAuth.

const useStyles = makeStyles({
  toolbar: { borderBottom: `1px solid ${tokens.colorNeutralStroke2}`, marginBottom: '4px' },
  layout: { display: 'grid', gridTemplateColumns: 'minmax(520px, 1fr) 360px', gap: '20px', alignItems: 'start' },
  pane: { border: `1px solid ${tokens.colorNeutralStroke2}`, borderRadius: tokens.borderRadiusMedium, padding: '14px 16px' },
});

function NewMailUser(props: { onClose(): void; onDone(name: string): void }) {
  const run = useCmdlet();
  const [name, setName] = useState('');
  const [upn, setUpn] = useState('');
  const [external, setExternal] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    const res = await run('New-MailUser', { Name: name, UserPrincipalName: upn, ExternalEmailAddress: external, Password: secure(password) });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    props.onDone(name);
  };
  const fields = ['Name', 'UserPrincipalName', 'ExternalEmailAddress', 'Password'];
  return (
    <FormDialog open title="New mail user" submitLabel="Save" busy={busy} canSubmit={!!name.trim() && !!upn.trim() && !!external.trim() && !!password} onSubmit={submit} onClose={props.onClose}>
      <CmdletErrorBar error={formError(error, fields)} />
      <Field label="Display name" required validationMessage={fieldError(error, 'Name')}>
        <Input value={name} onChange={(_, d) => setName(d.value)} />
      </Field>
      <Field label="User logon name (UPN)" required hint="What the mail client signs in with, e.g. ed@contoso.com" validationMessage={fieldError(error, 'UserPrincipalName')}>
        <Input value={upn} onChange={(_, d) => setUpn(d.value)} />
      </Field>
      <Field label="External email address" required validationMessage={fieldError(error, 'ExternalEmailAddress')}>
        <Input value={external} onChange={(_, d) => setExternal(d.value)} />
      </Field>
      <Field label="Password" required hint="At least 8 characters, from three of: upper case, lower case, digits, symbols" validationMessage={fieldError(error, 'Password')}>
        <Input type="password" value={password} onChange={(_, d) => setPassword(d.value)} />
      </Field>
    </FormDialog>
  );
}

function ResetPassword(props: { user: CmdletObject; onClose(): void; onDone(): void }) {
  const run = useCmdlet();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    const res = await run('Set-MailUser', { Identity: str(props.user.UserPrincipalName), Password: secure(password) }, { confirmed: true });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    props.onDone();
  };
  return (
    <FormDialog open title={`Reset password — ${str(props.user.Name)}`} submitLabel="Save" busy={busy} canSubmit={!!password} onSubmit={submit} onClose={props.onClose}>
      <CmdletErrorBar error={formError(error, ['Password'])} />
      <Field label="New password" required validationMessage={fieldError(error, 'Password')}>
        <Input type="password" value={password} onChange={(_, d) => setPassword(d.value)} />
      </Field>
    </FormDialog>
  );
}

export function MailUsersPage() {
  const s = useStyles();
  const { catalog, notify } = useAdmin();
  const run = useCmdlet();
  const available = hasCmdlet(catalog, 'Get-MailUser');
  const users = useCmdletQuery('Get-MailUser', {}, { skip: !available, watchChanges: true });
  const [selected, setSelected] = useState<string>();
  const [action, setAction] = useState<'new' | 'password' | 'delete'>();
  const [error, setError] = useState<WireError>();
  const [busy, setBusy] = useState(false);
  const current = users.data?.find((u) => str(u.Guid) === selected);

  const remove = async () => {
    if (!current) return;
    setBusy(true);
    const res = await run('Remove-MailUser', { Identity: str(current.UserPrincipalName) }, { confirmed: true });
    setBusy(false);
    if (!res.ok) return setError(res.error);
    notify(`The mail user "${str(current.Name)}" was deleted.`);
    setAction(undefined);
    setSelected(undefined);
    users.reload();
  };

  return (
    <>
      <PageHeader title="Contacts" description="Mail users: accounts whose mail goes to an external address and that can sign in with SMTP AUTH on a Receive connector offering basic authentication." />
      <Toolbar aria-label="Mail user actions" className={s.toolbar}>
        <ToolbarButton icon={<AddRegular />} disabled={!available} onClick={() => setAction('new')}>
          New
        </ToolbarButton>
        <ToolbarButton icon={<KeyResetRegular />} disabled={!current} onClick={() => setAction('password')}>
          Reset password
        </ToolbarButton>
        <ToolbarButton icon={<DeleteRegular />} disabled={!current} onClick={() => (setError(undefined), setAction('delete'))}>
          Delete
        </ToolbarButton>
        <ToolbarDivider />
        <ToolbarButton icon={<ArrowClockwiseRegular />} onClick={users.reload}>
          Refresh
        </ToolbarButton>
      </Toolbar>
      <CmdletErrorBar error={users.error} />
      <div className={s.layout}>
        {users.loading && !users.data ? (
          <Loading />
        ) : (
          <ObjectList
            label="Mail users"
            items={users.data ?? []}
            getKey={(u) => str(u.Guid)}
            selectedKey={selected}
            onSelect={setSelected}
            columns={[
              { id: 'name', title: 'Display name', grow: 1, sortValue: (u) => str(u.Name), render: (u) => str(u.Name) },
              { id: 'upn', title: 'User logon name', grow: 1.3, render: (u) => str(u.UserPrincipalName) },
              { id: 'external', title: 'External email address', grow: 1.4, render: (u) => str(u.ExternalEmailAddress).replace(/^SMTP:/i, '') },
              { id: 'type', title: 'Contact type', grow: 0.7, render: (u) => str(u.RecipientTypeDetails) },
            ]}
            empty="No mail users yet. Create one with New to let a mail client authenticate."
          />
        )}
        <aside className={s.pane} aria-label="Mail user details">
          {!current ? (
            <Text>Select a mail user to see its details.</Text>
          ) : (
            <dl style={{ margin: 0 }}>
              <Detail label="Display name">{str(current.Name)}</Detail>
              <Detail label="Alias">{str(current.Alias)}</Detail>
              <Detail label="User logon name">{str(current.UserPrincipalName)}</Detail>
              <Detail label="Primary SMTP address">{str(current.PrimarySmtpAddress)}</Detail>
              <Detail label="External email address">{str(current.ExternalEmailAddress)}</Detail>
              <Detail label="Created">{formatDateTime(current.WhenCreated)}</Detail>
              <Detail label="Changed">{formatDateTime(current.WhenChanged)}</Detail>
            </dl>
          )}
        </aside>
      </div>
      {action === 'new' && <NewMailUser onClose={() => setAction(undefined)} onDone={(name) => (setAction(undefined), notify(`The mail user "${name}" was created.`), users.reload())} />}
      {action === 'password' && current && (
        <ResetPassword user={current} onClose={() => setAction(undefined)} onDone={() => (setAction(undefined), notify(`The password of "${str(current.Name)}" was reset.`))} />
      )}
      {current && (
        <ConfirmDialog
          open={action === 'delete'}
          title="Delete mail user"
          text={`Delete the mail user "${str(current.Name)}" (${str(current.UserPrincipalName)})? It can no longer authenticate with SMTP AUTH.`}
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
