import { Checkbox, makeStyles, MessageBar, MessageBarBody, MessageBarTitle, Toolbar, ToolbarButton, ToolbarDivider, tokens } from '@fluentui/react-components';
import { ArrowClockwiseRegular, ArrowRepeatAllRegular, DeleteRegular, MailRegular, PauseRegular, PlayRegular } from '@fluentui/react-icons';
import { useState } from 'react';
import { hasCmdlet, useAdmin, useCmdlet, useCmdletQuery } from '../api/admin-context';
import type { WireError } from '../api/client';
import { CmdletErrorBar, ConfirmDialog, formatDateTime, list, Loading, PageHeader, str } from '../components/common';
import { ObjectList } from '../components/object-list';
import { ServerPicker } from '../components/server-picker';
import { NavLink } from '../components/nav-link';

const useStyles = makeStyles({ toolbar: { borderBottom: `1px solid ${tokens.colorNeutralStroke2}`, marginBottom: '4px' }, h2: { fontSize: tokens.fontSizeBase400, margin: '18px 0 6px 0' } });

function paramsFor(catalog: ReturnType<typeof useAdmin>['catalog'], cmdlet: string, wanted: Record<string, string | undefined>) {
  const info = catalog.cmdlets.find((c) => c.name === cmdlet);
  return Object.fromEntries(Object.entries(wanted).filter(([k]) => info?.parameters.some((p) => p.name === k)));
}

/** Why the queues cannot be shown, in words an administrator can act on. */
function QueueUnavailable(props: { error: WireError; server: string }) {
  if (props.error.code === 'ICX_TRANSPORT_STOPPED' || /Verify that the service is started/i.test(props.error.message)) {
    return (
      <MessageBar intent="warning" layout="multiline">
        <MessageBarBody>
          <MessageBarTitle>The transport service on {props.server} is stopped</MessageBarTitle>
          {props.error.message} <NavLink to="/servers/servers">Start it on the Servers page.</NavLink>
        </MessageBarBody>
      </MessageBar>
    );
  }
  return <CmdletErrorBar error={props.error} />;
}

export function QueuesPage() {
  const s = useStyles();
  const { catalog, notify } = useAdmin();
  const run = useCmdlet();
  const [server, setServer] = useState<string>();
  const [selected, setSelected] = useState<string>();
  const [actionError, setActionError] = useState<WireError>();
  const [selectedMessage, setSelectedMessage] = useState<string>();
  const [removing, setRemoving] = useState(false);
  const [withNdr, setWithNdr] = useState(true);
  const [busy, setBusy] = useState(false);
  const available = hasCmdlet(catalog, 'Get-Queue');
  const queues = useCmdletQuery('Get-Queue', paramsFor(catalog, 'Get-Queue', { Server: server }), { skip: !server || !available });
  const messages = useCmdletQuery('Get-Message', paramsFor(catalog, 'Get-Message', { Queue: selected }), { skip: !selected || !hasCmdlet(catalog, 'Get-Message') });
  const current = queues.data?.find((q) => q.Identity === selected);
  const message = messages.data?.find((m) => m.Identity === selectedMessage);
  const isPoison = /\\Poison$/i.test(selected ?? '');

  const act = async (cmdlet: string) => {
    if (!selected) return;
    if (!hasCmdlet(catalog, cmdlet)) return setActionError({ code: 'ICX_CMDLET_UNKNOWN', category: 'ObjectNotFound', message: `${cmdlet} is not available on this server yet.` });
    const res = await run(cmdlet, { Identity: selected }, { confirmed: true });
    if (!res.ok) return setActionError(res.error);
    setActionError(undefined);
    notify(cmdlet === 'Retry-Queue' ? `The queue "${selected}" is being retried now.` : cmdlet === 'Suspend-Queue' ? `The queue "${selected}" is suspended.` : `The queue "${selected}" is resumed.`);
    queues.reload();
  };

  /** Suspend-Message, Resume-Message, Remove-Message on the selected message. */
  const actOnMessage = async (cmdlet: 'Suspend-Message' | 'Resume-Message' | 'Remove-Message') => {
    if (!selectedMessage) return;
    setBusy(true);
    const res = await run(cmdlet, cmdlet === 'Remove-Message' ? { Identity: selectedMessage, WithNDR: withNdr } : { Identity: selectedMessage }, { confirmed: true });
    setBusy(false);
    if (!res.ok) return setActionError(res.error);
    setActionError(undefined);
    setRemoving(false);
    notify(
      cmdlet === 'Suspend-Message'
        ? `The message "${selectedMessage}" is suspended.`
        : cmdlet === 'Resume-Message'
          ? `The message "${selectedMessage}" is resumed.`
          : `The message "${selectedMessage}" was removed${withNdr ? ', and the sender gets a non-delivery report' : ''}.`,
    );
    if (cmdlet !== 'Suspend-Message') setSelectedMessage(undefined);
    messages.reload();
    queues.reload();
  };

  return (
    <>
      <PageHeader title="Queues" description="The delivery queues of a server: where mail waits for its next hop, how much, and why it is waiting.">
        <ServerPicker value={server} onChange={(v) => (setServer(v), setSelected(undefined), setSelectedMessage(undefined))} />
      </PageHeader>
      {!available ? (
        <MessageBar intent="info" layout="multiline">
          <MessageBarBody>
            <MessageBarTitle>Queue viewer not available</MessageBarTitle>
            This server does not offer the queue cmdlets yet (Get-Queue is not recognized). Queues can be viewed here once the server is updated.
          </MessageBarBody>
        </MessageBar>
      ) : (
        <>
          <Toolbar aria-label="Queue actions" className={s.toolbar}>
            <ToolbarButton icon={<ArrowRepeatAllRegular />} disabled={!current || isPoison || str(current.Status) !== 'Retry'} onClick={() => void act('Retry-Queue')}>
              Retry
            </ToolbarButton>
            <ToolbarButton icon={<PauseRegular />} disabled={!current || isPoison || str(current.Status) === 'Suspended'} onClick={() => void act('Suspend-Queue')}>
              Suspend
            </ToolbarButton>
            <ToolbarButton icon={<PlayRegular />} disabled={!current || isPoison || str(current.Status) !== 'Suspended'} onClick={() => void act('Resume-Queue')}>
              Resume
            </ToolbarButton>
            <ToolbarDivider />
            <ToolbarButton icon={<ArrowClockwiseRegular />} onClick={queues.reload}>
              Refresh
            </ToolbarButton>
          </Toolbar>
          <CmdletErrorBar error={actionError} onDismiss={() => setActionError(undefined)} />
          {queues.error && server ? (
            <QueueUnavailable error={queues.error} server={server} />
          ) : queues.loading && !queues.data ? (
            <Loading />
          ) : (
            <ObjectList
              label={`Queues on ${server ?? ''}`}
              items={queues.data ?? []}
              getKey={(q) => str(q.Identity)}
              selectedKey={selected}
              onSelect={(id) => (setSelected(id), setSelectedMessage(undefined))}
              columns={[
                { id: 'id', title: 'Identity', grow: 1.2, sortValue: (q) => str(q.Identity), render: (q) => str(q.Identity) },
                { id: 'type', title: 'Delivery type', grow: 1.4, render: (q) => str(q.DeliveryType) },
                { id: 'status', title: 'Status', grow: 0.7, render: (q) => str(q.Status) },
                { id: 'count', title: 'Message count', grow: 0.7, sortValue: (q) => Number(q.MessageCount ?? 0), render: (q) => str(q.MessageCount) },
                { id: 'next', title: 'Next hop domain', grow: 1, render: (q) => str(q.NextHopDomain) },
                { id: 'error', title: 'Last error', grow: 3, render: (q) => str(q.LastError) },
              ]}
              empty="No queues on this server: nothing is waiting for delivery."
            />
          )}
          {selected && (
            <section aria-label="Messages in the queue">
              <h2 className={s.h2}>
                <MailRegular aria-hidden /> Messages in {selected}
              </h2>
              {isPoison && (
                <MessageBar intent="warning" layout="multiline">
                  <MessageBarBody>
                    <MessageBarTitle>Poison messages</MessageBarTitle>
                    The transport service stopped unexpectedly while processing each of these messages, as often as PoisonThreshold allows. They stay here, never retried and never expired, until you resume one (it is delivered again) or remove it.
                  </MessageBarBody>
                </MessageBar>
              )}
              <Toolbar aria-label="Message actions" className={s.toolbar}>
                <ToolbarButton icon={<PauseRegular />} disabled={!message || busy || ['Suspended', 'Active'].includes(str(message.Status))} onClick={() => void actOnMessage('Suspend-Message')}>
                  Suspend message
                </ToolbarButton>
                <ToolbarButton icon={<PlayRegular />} disabled={!message || busy || str(message.Status) !== 'Suspended'} onClick={() => void actOnMessage('Resume-Message')}>
                  Resume message
                </ToolbarButton>
                <ToolbarButton icon={<DeleteRegular />} disabled={!message || busy || str(message.Status) === 'Active'} onClick={() => (setWithNdr(true), setRemoving(true))}>
                  Remove message
                </ToolbarButton>
              </Toolbar>
              <CmdletErrorBar error={messages.error} />
              <ObjectList
                label={`Messages in ${selected}`}
                items={messages.data ?? []}
                getKey={(m) => str(m.Identity)}
                selectedKey={selectedMessage}
                onSelect={setSelectedMessage}
                columns={[
                  { id: 'from', title: 'From', render: (m) => str(m.FromAddress) },
                  { id: 'to', title: 'Recipients', render: (m) => list(m.Recipients).join(', ') },
                  { id: 'subject', title: 'Subject', grow: 1.4, render: (m) => str(m.Subject) },
                  { id: 'status', title: 'Status', grow: 0.7, render: (m) => str(m.Status) },
                  { id: 'received', title: 'Received', grow: 1.2, render: (m) => formatDateTime(m.DateReceived) },
                  { id: 'error', title: 'Last error', grow: 2.5, render: (m) => str(m.LastError) },
                ]}
                empty="The queue holds no messages."
              />
            </section>
          )}
          {message && (
            <ConfirmDialog
              open={removing}
              title="Remove message"
              text={
                <>
                  <p style={{ marginTop: 0 }}>
                    Remove the message "{str(message.Subject) || '(no subject)'}" from {str(message.FromAddress) || 'the null sender'} ({str(message.Identity)})? It is not delivered to {list(message.Recipients).join(', ')}.
                  </p>
                  <Checkbox checked={withNdr} onChange={(_, d) => setWithNdr(Boolean(d.checked))} label="Send a non-delivery report (NDR) to the sender" />
                </>
              }
              confirmLabel="Remove"
              busy={busy}
              onConfirm={() => void actOnMessage('Remove-Message')}
              onCancel={() => setRemoving(false)}
            />
          )}
        </>
      )}
    </>
  );
}
