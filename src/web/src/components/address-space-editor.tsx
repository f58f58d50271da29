import { Button, Field, Input, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow } from '@fluentui/react-components';
import { AddRegular, DeleteRegular } from '@fluentui/react-icons';
import { useState } from 'react';

/** `Type:Space;Cost` entries (Exchange's AddressSpace), edited as rows. The cmdlet validates them. */
export function AddressSpaceEditor(props: { value: string[]; onChange(v: string[]): void; error?: string }) {
  const [domain, setDomain] = useState('');
  const [cost, setCost] = useState('1');
  const add = () => {
    if (!domain.trim()) return;
    props.onChange([...props.value, `SMTP:${domain.trim()};${cost.trim() || '1'}`]);
    setDomain('');
    setCost('1');
  };
  const parts = (a: string) => {
    const m = /^(?:([^:]+):)?(.*?)(?:;([^;]*))?$/.exec(a) ?? [];
    return { type: m[1] ?? 'SMTP', space: m[2] ?? a, cost: m[3] ?? '1' };
  };
  return (
    <Field label="Address space" validationMessage={props.error} validationState={props.error ? 'error' : 'none'}>
      <div>
        <Table size="small" aria-label="Address spaces">
          <TableHeader>
            <TableRow>
              <TableHeaderCell>Type</TableHeaderCell>
              <TableHeaderCell>Domain</TableHeaderCell>
              <TableHeaderCell>Cost</TableHeaderCell>
              <TableHeaderCell>
                <span style={{ position: 'absolute', left: -10000 }}>Actions</span>
              </TableHeaderCell>
            </TableRow>
          </TableHeader>
          <TableBody>
            {props.value.map((a, i) => {
              const p = parts(a);
              return (
                <TableRow key={`${a}-${i}`}>
                  <TableCell>{p.type.toUpperCase()}</TableCell>
                  <TableCell>{p.space}</TableCell>
                  <TableCell>{p.cost}</TableCell>
                  <TableCell>
                    <Button size="small" appearance="subtle" icon={<DeleteRegular />} aria-label={`Remove address space ${p.space}`} onClick={() => props.onChange(props.value.filter((_, j) => j !== i))} />
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
        <div style={{ display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) 90px auto', gap: 8, alignItems: 'start', marginTop: 8 }}>
          <Field label="Fully qualified domain name (FQDN)" hint="*, contoso.com or *.contoso.com">
            <Input
              style={{ minWidth: 0 }}
              value={domain}
              onChange={(_, d) => setDomain(d.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  add();
                }
              }}
            />
          </Field>
          <Field label="Cost">
            <Input style={{ minWidth: 0 }} value={cost} onChange={(_, d) => setCost(d.value)} />
          </Field>
          <Button icon={<AddRegular />} onClick={add} disabled={!domain.trim()} style={{ marginTop: 26 }}>
            Add
          </Button>
        </div>
      </div>
    </Field>
  );
}
