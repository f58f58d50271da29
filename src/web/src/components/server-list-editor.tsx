import { Checkbox, Field } from '@fluentui/react-components';
import { useCmdletQuery } from '../api/admin-context';
import { str } from './common';

/** The "Source server" list: every server of the organization, ticked when it sends through the connector. */
export function ServerListEditor(props: { value: string[]; onChange(v: string[]): void; error?: string; label?: string }) {
  const servers = useCmdletQuery('Get-ExchangeServer', {});
  const names = (servers.data ?? []).map((s) => str(s.Name));
  const has = (n: string) => props.value.some((v) => v.toLowerCase() === n.toLowerCase());
  return (
    <Field label={props.label ?? 'Source server'} validationMessage={props.error} validationState={props.error ? 'error' : 'none'}>
      <div role="group" aria-label={props.label ?? 'Source server'} style={{ display: 'flex', flexDirection: 'column' }}>
        {names.map((n) => (
          <Checkbox
            key={n}
            label={`${n} (${str(servers.data?.find((s) => s.Name === n)?.Fqdn)})`}
            checked={has(n)}
            onChange={(_, d) => props.onChange(d.checked ? [...props.value, n] : props.value.filter((v) => v.toLowerCase() !== n.toLowerCase()))}
          />
        ))}
      </div>
    </Field>
  );
}
