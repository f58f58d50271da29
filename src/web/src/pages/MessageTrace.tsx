import {
  Button,
  Field,
  Input,
  makeStyles,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  tokens,
} from '@fluentui/react-components';
import { SearchRegular } from '@fluentui/react-icons';
import { useEffect, useState } from 'react';
import { useAdmin, useCmdletQuery } from '../api/admin-context';
import type { CmdletObject, WireError, WireValue } from '../api/client';
import { CheckboxGroup } from '../components/checkbox-group';
import { CmdletErrorBar, list, Loading, PageHeader, str } from '../components/common';
import { ObjectList } from '../components/object-list';

const useStyles = makeStyles({
  form: { display: 'flex', flexDirection: 'column', gap: '12px', margin: '4px 0 16px 0' },
  fields: { display: 'flex', gap: '12px', alignItems: 'end', flexWrap: 'wrap' },
  wide: { minWidth: '260px' },
  // Level with the inputs beside it, whose labels are above them.
  submit: { marginTop: '26px' },
  h2: { fontSize: tokens.fontSizeBase400, margin: '20px 0 6px 0' },
  bars: { display: 'flex', flexDirection: 'column', gap: '6px', marginBottom: '8px' },
  mono: { fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200, overflowWrap: 'anywhere' },
  cell: { verticalAlign: 'top', paddingTop: '6px', paddingBottom: '6px', overflowWrap: 'anywhere' },
});

/** One event as Get-MessageTrackingLog returns it, with the server whose log it came from. */
type TrackedEvent = CmdletObject & { $server: string };

/** The events of one message across every server searched, oldest first. */
interface TracedMessage {
  key: string;
  events: TrackedEvent[];
}

/** What one server's Get-MessageTrackingLog answered. */
interface ServerResult {
  server: string;
  events: TrackedEvent[];
  warnings: string[];
  error?: WireError;
}

interface Criteria {
  sender: string;
  recipient: string;
  messageId: string;
  start: string;
  end: string;
  resultSize: string;
  servers: string[];
}

/** A `datetime-local` value (local time, minutes) for a Date. */
function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Milliseconds matter here: two servers' events of one hop are often within the same second. */
function formatTimestamp(value: unknown): string {
  const d = new Date(str(value));
  if (Number.isNaN(d.getTime())) return str(value);
  return d.toLocaleString('en-US', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3, hourCycle: 'h23' } as Intl.DateTimeFormatOptions);
}

const time = (e: CmdletObject) => new Date(str(e.Timestamp)).getTime();

/**
 * Get-MessageTrackingLog's parameters for the form, as an administrator would type them;
 * End is an upper bound only when given (a search repeated later still finds new mail).
 */
function parameters(c: Criteria, server: string): Record<string, WireValue | undefined> {
  const at = (v: string) => (v ? new Date(v).toISOString() : undefined);
  return {
    Server: server,
    Sender: c.sender.trim() || undefined,
    Recipients: c.recipient.trim() ? [c.recipient.trim()] : undefined,
    MessageId: c.messageId.trim() || undefined,
    Start: at(c.start),
    End: at(c.end),
    // As typed: the cmdlet converts it (a number or Unlimited) and names the parameter when it can't.
    ResultSize: c.resultSize.trim() || undefined,
  };
}

/**
 * Group-Object MessageId over the merged events, as a shell pipeline would: the Message-ID header
 * is the one name a message keeps on every server; without it, the server's InternalMessageId.
 */
function groupMessages(events: TrackedEvent[]): TracedMessage[] {
  const byKey = new Map<string, TrackedEvent[]>();
  for (const e of events) {
    const id = str(e.MessageId).trim().replace(/^<|>$/g, '').toLowerCase();
    const key = id ? `<${id}>` : `${e.$server}\\${str(e.InternalMessageId)}`;
    byKey.set(key, [...(byKey.get(key) ?? []), e]);
  }
  return [...byKey].map(([key, evs]) => ({ key, events: [...evs].sort((a, b) => time(a) - time(b)) })).sort((a, b) => time(b.events[0]) - time(a.events[0]));
}

function statusOf(m: TracedMessage): string {
  const last = m.events[m.events.length - 1];
  const reply = list(last.RecipientStatus)[0];
  return `${str(last.EventId)} on ${last.$server}${reply ? `: ${reply}` : ''}`;
}

function firstWith(m: TracedMessage, pick: (e: TrackedEvent) => string): string {
  for (const e of m.events) {
    const v = pick(e);
    if (v) return v;
  }
  return '';
}

function recipientsOf(m: TracedMessage): string {
  const all = new Map<string, string>();
  for (const e of m.events) for (const r of list(e.Recipients)) all.set(r.toLowerCase(), r);
  return [...all.values()].join(', ');
}

const FIELD_PARAMETERS = ['Sender', 'Recipients', 'MessageId', 'Start', 'End', 'ResultSize'];

export function MessageTracePage() {
  const s = useStyles();
  const { api } = useAdmin();
  const servers = useCmdletQuery('Get-ExchangeServer', {});
  const names = (servers.data ?? []).map((x) => str(x.Name));
  const [form, setForm] = useState<Criteria>(() => ({ sender: '', recipient: '', messageId: '', start: localInput(new Date(Date.now() - 48 * 3600_000)), end: '', resultSize: '', servers: [] }));
  const [serversTouched, setServersTouched] = useState(false);
  const [searching, setSearching] = useState(false);
  const [results, setResults] = useState<ServerResult[]>();
  const [selected, setSelected] = useState<string>();
  const [formError, setFormError] = useState<WireError>();

  // Every server of the organization is searched unless the administrator narrows it.
  useEffect(() => {
    if (!serversTouched && names.length) setForm((f) => ({ ...f, servers: names }));
  }, [names.join(','), serversTouched]);

  const set = (k: keyof Criteria) => (_: unknown, d: { value: string }) => setForm((f) => ({ ...f, [k]: d.value }));

  const search = async () => {
    if (form.servers.length === 0) return setFormError({ code: 'ICX_PARAM_INVALID', category: 'InvalidArgument', message: 'Select at least one server to search.', parameter: 'Server' });
    setFormError(undefined);
    setSearching(true);
    setSelected(undefined);
    // One Get-MessageTrackingLog per server, side by side: a server that can't be searched fails alone.
    const answers = await Promise.all(
      form.servers.map(async (server): Promise<ServerResult> => {
        const res = await api.invoke('Get-MessageTrackingLog', parameters(form, server));
        return { server, events: (res.output ?? []).map((e) => ({ ...e, $server: server })), warnings: res.warnings ?? [], error: res.ok ? undefined : res.error };
      }),
    );
    setResults(answers);
    setSearching(false);
  };

  // A bad value is the same mistake on every server: shown once, beside its field.
  const paramError = results?.map((r) => r.error).find((e) => e?.parameter && FIELD_PARAMETERS.includes(e.parameter));
  const fieldMessage = (parameter: string) => (paramError?.parameter === parameter ? paramError.message : undefined);
  const messages = groupMessages((results ?? []).flatMap((r) => r.events));
  const current = messages.find((m) => m.key === selected);

  return (
    <>
      <PageHeader
        title="Message trace"
        description="Follow a message through the organization: what each server's message tracking log says about it, from receipt to the next hop. Each server is searched with Get-MessageTrackingLog."
      />
      <form
        className={s.form}
        role="search"
        aria-label="Message trace search"
        onSubmit={(e) => {
          e.preventDefault();
          void search();
        }}
      >
        <div className={s.fields}>
          <Field label="Sender" className={s.wide} validationMessage={fieldMessage('Sender')}>
            <Input value={form.sender} placeholder="e.g. alice@contoso.com" onChange={set('sender')} />
          </Field>
          <Field label="Recipient" className={s.wide} validationMessage={fieldMessage('Recipients')}>
            <Input value={form.recipient} placeholder="e.g. bob@fabrikam.com" onChange={set('recipient')} />
          </Field>
          <Field label="Message ID" className={s.wide} validationMessage={fieldMessage('MessageId')}>
            <Input value={form.messageId} placeholder="e.g. <1234@contoso.com>" onChange={set('messageId')} />
          </Field>
        </div>
        <div className={s.fields} style={{ alignItems: 'start' }}>
          <Field label="Start" hint="Default: 48 hours ago" validationMessage={fieldMessage('Start')}>
            <Input type="datetime-local" value={form.start} onChange={set('start')} />
          </Field>
          <Field label="End" hint="Empty: up to now" validationMessage={fieldMessage('End')}>
            <Input type="datetime-local" value={form.end} onChange={set('end')} />
          </Field>
          <Field label="Result size" hint="Events per server; empty: 1000" validationMessage={fieldMessage('ResultSize')}>
            <Input value={form.resultSize} placeholder="1000" onChange={set('resultSize')} style={{ width: 140 }} />
          </Field>
          {servers.error ? (
            <CmdletErrorBar error={servers.error} title="The servers of the organization could not be listed" />
          ) : (
            <CheckboxGroup
              label="Servers to search"
              columns={6}
              options={names.map((n) => ({ value: n, label: n }))}
              value={form.servers}
              onChange={(v) => (setServersTouched(true), setForm((f) => ({ ...f, servers: v })))}
              error={formError?.parameter === 'Server' ? formError.message : undefined}
            />
          )}
          <Button className={s.submit} type="submit" appearance="primary" icon={<SearchRegular />} disabled={searching}>
            {searching ? 'Searching…' : 'Search'}
          </Button>
        </div>
      </form>

      {searching && <Loading label="Searching the message tracking logs…" />}
      {results && !searching && (
        <section aria-label="Search results">
          <div className={s.bars}>
            {results.map((r) =>
              r.error && !(paramError && r.error.parameter === paramError.parameter) ? <CmdletErrorBar key={`e-${r.server}`} error={r.error} title={`${r.server} could not be searched`} /> : null,
            )}
            {results.flatMap((r) =>
              r.warnings.map((w, i) => (
                <MessageBar key={`w-${r.server}-${i}`} intent="warning" layout="multiline">
                  <MessageBarBody>
                    <MessageBarTitle>Warning from {r.server}</MessageBarTitle>
                    {w}
                  </MessageBarBody>
                </MessageBar>
              )),
            )}
          </div>
          <Text size={200}>
            {messages.length} {messages.length === 1 ? 'message' : 'messages'} from{' '}
            {results
              .filter((r) => !r.error)
              .map((r) => `${r.server} (${r.events.length} ${r.events.length === 1 ? 'event' : 'events'})`)
              .join(', ') || 'no server'}
          </Text>
          <ObjectList
            label="Traced messages"
            items={messages}
            getKey={(m) => m.key}
            selectedKey={selected}
            onSelect={setSelected}
            columns={[
              { id: 'first', title: 'First seen', grow: 1.2, sortValue: (m) => str(m.events[0].Timestamp), render: (m) => formatTimestamp(m.events[0].Timestamp) },
              { id: 'sender', title: 'Sender', grow: 1.2, render: (m) => firstWith(m, (e) => str(e.Sender)) },
              { id: 'recipients', title: 'Recipients', grow: 1.4, render: (m) => recipientsOf(m) },
              { id: 'subject', title: 'Subject', grow: 1.4, render: (m) => firstWith(m, (e) => str(e.MessageSubject)) },
              { id: 'id', title: 'Message ID', grow: 1.4, render: (m) => m.key },
              { id: 'status', title: 'Last event', grow: 2, render: (m) => statusOf(m) },
            ]}
            empty="No message matches the search on the servers that answered."
          />
        </section>
      )}

      {current && (
        <section aria-labelledby="message-timeline-heading">
          <h2 id="message-timeline-heading" className={s.h2}>
            Timeline of {current.key}
          </h2>
          <Table aria-label="Message timeline" size="small">
            <TableHeader>
              <TableRow>
                <TableHeaderCell style={{ width: '12%' }}>Timestamp</TableHeaderCell>
                <TableHeaderCell style={{ width: '6%' }}>Server</TableHeaderCell>
                <TableHeaderCell style={{ width: '7%' }}>Event</TableHeaderCell>
                <TableHeaderCell style={{ width: '6%' }}>Source</TableHeaderCell>
                <TableHeaderCell style={{ width: '13%' }}>Connector</TableHeaderCell>
                <TableHeaderCell style={{ width: '12%' }}>Recipients</TableHeaderCell>
                <TableHeaderCell style={{ width: '22%' }}>Recipient status</TableHeaderCell>
                <TableHeaderCell style={{ width: '12%' }}>Hop (client → server)</TableHeaderCell>
                <TableHeaderCell style={{ width: '10%' }}>Source context</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {current.events.map((e, i) => (
                <TableRow key={i}>
                  <TableCell className={s.cell}>
                    <time dateTime={str(e.Timestamp)}>{formatTimestamp(e.Timestamp)}</time>
                  </TableCell>
                  <TableCell className={s.cell}>{e.$server}</TableCell>
                  <TableCell className={s.cell}>{str(e.EventId)}</TableCell>
                  <TableCell className={s.cell}>{str(e.Source)}</TableCell>
                  <TableCell className={s.cell}>{str(e.ConnectorId)}</TableCell>
                  <TableCell className={s.cell}>{list(e.Recipients).join(', ')}</TableCell>
                  <TableCell className={s.cell}>
                    <span className={s.mono}>{list(e.RecipientStatus).join('; ')}</span>
                  </TableCell>
                  <TableCell className={s.cell}>{[str(e.ClientHostname) || str(e.ClientIp), str(e.ServerHostname) || str(e.ServerIp)].filter(Boolean).join(' → ')}</TableCell>
                  <TableCell className={s.cell}>
                    <span className={s.mono}>{str(e.SourceContext)}</span>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </section>
      )}
    </>
  );
}
