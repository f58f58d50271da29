import { useCmdletQuery } from '../api/admin-context';
import { CheckboxGroup } from './checkbox-group';
import { str } from './common';

/** The "Source server" list: every server of the organization, ticked when it sends through the connector. */
export function ServerListEditor(props: { value: string[]; onChange(v: string[]): void; error?: string; label?: string }) {
  const servers = useCmdletQuery('Get-ExchangeServer', {});
  return (
    <CheckboxGroup
      label={props.label ?? 'Source server'}
      options={(servers.data ?? []).map((s) => ({ value: str(s.Name), label: `${str(s.Name)} (${str(s.Fqdn)})` }))}
      value={props.value}
      onChange={props.onChange}
      error={props.error}
    />
  );
}
