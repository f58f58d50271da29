import { Badge, Button, Dropdown, Field, Input, makeStyles, Option, Text, tokens } from '@fluentui/react-components';
import { SearchRegular } from '@fluentui/react-icons';
import { useState } from 'react';
import { useCmdletQuery } from '../api/admin-context';
import type { CmdletObject } from '../api/client';
import { CmdletErrorBar, Detail, formatDateTime, Loading, PageHeader, str } from '../components/common';
import { ObjectList } from '../components/object-list';

const useStyles = makeStyles({
  filters: { display: 'flex', gap: '12px', alignItems: 'end', flexWrap: 'wrap', margin: '4px 0 12px 0' },
  layout: { display: 'grid', gridTemplateColumns: 'minmax(560px, 1fr) 380px', gap: '20px', alignItems: 'start' },
  pane: { border: `1px solid ${tokens.colorNeutralStroke2}`, borderRadius: tokens.borderRadiusMedium, padding: '14px 16px' },
  pre: { whiteSpace: 'pre-wrap', margin: 0, fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200 },
});

export function AuditLogPage() {
  const s = useStyles();
  const [cmdlet, setCmdlet] = useState('');
  const [result, setResult] = useState<'all' | 'true' | 'false'>('all');
  const [applied, setApplied] = useState<{ Cmdlets?: string[]; IsSuccess?: boolean }>({});
  const q = useCmdletQuery('Search-AdminAuditLog', { ...applied, ResultSize: 500 }, { watchChanges: true });
  const [selected, setSelected] = useState<string>();
  const items = (q.data ?? []).map((e, i) => ({ ...e, key: `${str(e.RunDate)}#${i}` })) as Array<CmdletObject & { key: string }>;
  const current = items.find((e) => e.key === selected);

  return (
    <>
      <PageHeader title="Admin audit log" description="Who changed what, when, and with what result: every state-changing cmdlet run through the shell, the API or this admin center." />
      <form
        className={s.filters}
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ Cmdlets: cmdlet.trim() ? cmdlet.split(',').map((x) => x.trim()) : undefined, IsSuccess: result === 'all' ? undefined : result === 'true' });
        }}
      >
        <Field label="Cmdlet">
          <Input value={cmdlet} placeholder="e.g. Remove-ExchangeCertificate" onChange={(_, d) => setCmdlet(d.value)} />
        </Field>
        <Field label="Result">
          <Dropdown value={result === 'all' ? 'All' : result === 'true' ? 'Succeeded' : 'Failed'} selectedOptions={[result]} onOptionSelect={(_, d) => setResult((d.optionValue as 'all') ?? 'all')}>
            <Option value="all">All</Option>
            <Option value="true">Succeeded</Option>
            <Option value="false">Failed</Option>
          </Dropdown>
        </Field>
        <Button type="submit" icon={<SearchRegular />} appearance="primary">
          Search
        </Button>
      </form>
      <CmdletErrorBar error={q.error} />
      <div className={s.layout}>
        {q.loading && !q.data ? (
          <Loading />
        ) : (
          <ObjectList
            label="Audit log entries"
            items={items}
            getKey={(e) => e.key}
            selectedKey={selected}
            onSelect={setSelected}
            columns={[
              { id: 'date', title: 'Date', grow: 1.3, sortValue: (e) => str(e.RunDate), render: (e) => formatDateTime(e.RunDate) },
              { id: 'caller', title: 'Caller', grow: 0.9, render: (e) => str(e.Caller) },
              { id: 'cmdlet', title: 'Cmdlet', grow: 1.6, render: (e) => str(e.CmdletName) },
              { id: 'object', title: 'Object', grow: 2, render: (e) => str(e.ObjectModified) },
              {
                id: 'result',
                title: 'Result',
                grow: 0.8,
                render: (e) => (
                  <Badge appearance="tint" color={e.Succeeded ? 'success' : 'danger'}>
                    {e.Succeeded ? 'Succeeded' : 'Failed'}
                  </Badge>
                ),
              },
            ]}
            empty="No entries match the search."
          />
        )}
        <aside className={s.pane} aria-label="Audit entry details">
          {!current ? (
            <Text>Select an entry to see its parameters and result.</Text>
          ) : (
            <dl style={{ margin: 0 }}>
              <Detail label="Date">{formatDateTime(current.RunDate)}</Detail>
              <Detail label="Caller">{str(current.Caller)}</Detail>
              <Detail label="Cmdlet">{str(current.CmdletName)}</Detail>
              <Detail label="Parameters">
                <pre className={s.pre}>{JSON.stringify(current.CmdletParameters ?? {}, null, 2)}</pre>
              </Detail>
              <Detail label="Object modified">{str(current.ObjectModified)}</Detail>
              <Detail label="Succeeded">{current.Succeeded ? 'Yes' : 'No'}</Detail>
              {current.Error ? <Detail label="Error">{str(current.Error)}</Detail> : null}
              <Detail label="Originating server">{str(current.OriginatingServer)}</Detail>
            </dl>
          )}
        </aside>
      </div>
    </>
  );
}
