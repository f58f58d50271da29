import { Checkbox, Label, Text, tokens, useId } from '@fluentui/react-components';
import { ErrorCircle12Filled } from '@fluentui/react-icons';

/**
 * A labelled group of check boxes with the cmdlet's error beneath it. Not a
 * Fluent Field: a Field would give every check box inside it the group's name.
 */
export function CheckboxGroup(props: { label: string; options: Array<{ value: string; label: string; disabled?: boolean }>; value: string[]; onChange(v: string[]): void; error?: string; columns?: number }) {
  const id = useId('group');
  const has = (v: string) => props.value.some((x) => x.toLowerCase() === v.toLowerCase());
  return (
    <div style={{ display: 'flex', flexDirection: 'column', gap: 2 }}>
      <Label id={`${id}-label`} weight="regular">
        {props.label}
      </Label>
      <div role="group" aria-labelledby={`${id}-label`} aria-describedby={props.error ? `${id}-error` : undefined} style={{ display: 'grid', gridTemplateColumns: `repeat(${props.columns ?? 1}, auto)`, justifyContent: 'start', columnGap: 16 }}>
        {props.options.map((o) => (
          <Checkbox
            key={o.value}
            label={o.label}
            checked={has(o.value)}
            disabled={o.disabled}
            onChange={(_, d) => props.onChange(d.checked ? [...props.value, o.value] : props.value.filter((x) => x.toLowerCase() !== o.value.toLowerCase()))}
          />
        ))}
      </div>
      {props.error && (
        <Text id={`${id}-error`} size={200} style={{ color: tokens.colorPaletteRedForeground1, display: 'flex', gap: 4, alignItems: 'center' }}>
          <ErrorCircle12Filled aria-hidden /> {props.error}
        </Text>
      )}
    </div>
  );
}
