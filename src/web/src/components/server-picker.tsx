import { Dropdown, Field, Option } from '@fluentui/react-components';
import { useEffect } from 'react';
import { useCmdletQuery } from '../api/admin-context';
import { str } from './common';

/** EAC's "Select server:" drop-down, filled from Get-ExchangeServer. */
export function ServerPicker(props: { value: string | undefined; onChange(server: string): void; label?: string }) {
  const servers = useCmdletQuery('Get-ExchangeServer', {});
  const names = (servers.data ?? []).map((s) => str(s.Name));
  useEffect(() => {
    if (!props.value && names.length) props.onChange(names[0]);
  }, [props.value, names.join(',')]);
  return (
    <Field label={props.label ?? 'Select server:'} orientation="horizontal" style={{ maxWidth: 420 }}>
      <Dropdown value={props.value ?? ''} selectedOptions={props.value ? [props.value] : []} onOptionSelect={(_, d) => d.optionValue && props.onChange(d.optionValue)}>
        {names.map((n) => (
          <Option key={n} value={n}>
            {n}
          </Option>
        ))}
      </Dropdown>
    </Field>
  );
}
