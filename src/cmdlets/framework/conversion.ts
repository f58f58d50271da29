import type { WireValue } from '../contract.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import { parseByteQuantifiedSize, parseTimeSpan } from './units.js';
import type { ParameterDeclaration } from './declaration.js';

/** A multi-valued edit as Exchange takes it on Set-* cmdlets: `@{Add=...; Remove=...}`. */
export interface MultiValuedEdit<T> {
  add: T[];
  remove: T[];
}

export function isMultiValuedEdit(v: unknown): v is MultiValuedEdit<unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v) && 'add' in v && 'remove' in v;
}

const NET_TYPE: Record<string, string> = {
  String: 'System.String',
  Int32: 'System.Int32',
  Int64: 'System.Int64',
  Boolean: 'System.Boolean',
  SwitchParameter: 'System.Management.Automation.SwitchParameter',
  SecureString: 'System.Security.SecureString',
  'Byte[]': 'System.Byte[]',
  DateTime: 'System.DateTime',
  TimeSpan: 'Microsoft.Exchange.Data.EnhancedTimeSpan',
  ByteQuantifiedSize: 'Microsoft.Exchange.Data.ByteQuantifiedSize',
  PSCredential: 'System.Management.Automation.PSCredential',
};

function show(value: WireValue): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && '$secure' in value) return 'System.Security.SecureString';
  if (value && typeof value === 'object' && '$bytes' in value) return 'System.Byte[]';
  return JSON.stringify(value);
}

function conversionError(p: ParameterDeclaration, value: WireValue, detail: string): InterchangeError {
  const type = p.type === 'Enum' || p.type === 'Flags' ? p.name : NET_TYPE[p.type] ?? p.type;
  return new InterchangeError(
    'ICX_PARAM_CONVERSION',
    `Cannot process argument transformation on parameter '${p.name}'. Cannot convert value "${show(value)}" to type "${type}". Error: "${detail}"`,
    { parameter: p.name },
  );
}

function convertScalar(p: ParameterDeclaration, value: WireValue): unknown {
  if (value === null) {
    if (p.nullable || p.type === 'String') return null;
    throw new InterchangeError('ICX_PARAM_CONVERSION', `Cannot bind argument to parameter '${p.name}' because it is null.`, { parameter: p.name });
  }
  switch (p.type) {
    case 'String':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw conversionError(p, value, 'The value is not a string.');
    case 'Int32':
    case 'Int64': {
      // Exchange's Unlimited<int>.
      if (typeof value === 'string' && /^\s*unlimited\s*$/i.test(value) && p.allowUnlimited) return null;
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value) ? Number(value) : NaN;
      if (!Number.isInteger(n)) throw conversionError(p, value, 'Input string was not in a correct format.');
      if (p.range && (n < p.range[0] || n > p.range[1])) {
        const [min, max] = p.range;
        const detail =
          n > max
            ? `The ${n} argument is greater than the maximum allowed range of ${max}. Supply an argument that is less than or equal to ${max} and then try the command again.`
            : `The ${n} argument is less than the minimum allowed range of ${min}. Supply an argument that is greater than or equal to ${min} and then try the command again.`;
        throw new InterchangeError('ICX_PARAM_INVALID', `Cannot validate argument on parameter '${p.name}'. ${detail}`, { parameter: p.name });
      }
      return n;
    }
    case 'Boolean':
    case 'SwitchParameter':
      if (typeof value === 'boolean') return value;
      if (value === 0 || value === 1) return value === 1;
      if (typeof value === 'string' && /^(true|false|\$true|\$false)$/i.test(value)) return /true/i.test(value);
      throw new InterchangeError(
        'ICX_PARAM_CONVERSION',
        `Cannot process argument transformation on parameter '${p.name}'. Cannot convert value "${show(value)}" to type "System.Boolean". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.`,
        { parameter: p.name },
      );
    case 'SecureString':
      if (value && typeof value === 'object' && '$secure' in value && typeof value.$secure === 'string') return value.$secure;
      throw new InterchangeError(
        'ICX_PARAM_CONVERSION',
        // A secret given as plain text is still a secret: the message (which the audit log keeps) never repeats it.
        `Cannot process argument transformation on parameter '${p.name}'. Cannot convert the "******" value of type "${typeof value === 'string' ? 'System.String' : 'System.Object'}" to type "System.Security.SecureString".`,
        { parameter: p.name },
      );
    case 'Byte[]':
      if (value && typeof value === 'object' && '$bytes' in value && typeof value.$bytes === 'string') return Buffer.from(value.$bytes, 'base64');
      if (Array.isArray(value) && value.every((b) => typeof b === 'number' && b >= 0 && b <= 255)) return Buffer.from(value as number[]);
      throw conversionError(p, value, 'The value is not a byte array.');
    case 'PSCredential':
      if (value && typeof value === 'object' && '$credential' in value) return value.$credential;
      throw conversionError(p, '******', 'The value is not a credential.');
    case 'DateTime': {
      const d = typeof value === 'string' || typeof value === 'number' ? new Date(value) : new Date(NaN);
      if (Number.isNaN(d.getTime())) throw conversionError(p, value, 'String was not recognized as a valid DateTime.');
      return d;
    }
    case 'TimeSpan': {
      if (typeof value === 'string' && /^unlimited$/i.test(value) && p.allowUnlimited) return null;
      const ms = typeof value === 'string' ? parseTimeSpan(value) : undefined;
      if (ms === undefined) throw conversionError(p, value, 'The TimeSpan must be written as [d.]hh:mm:ss.');
      return ms;
    }
    case 'ByteQuantifiedSize': {
      const parsed = typeof value === 'number' ? value : typeof value === 'string' ? parseByteQuantifiedSize(value) : undefined;
      if (parsed === null && p.allowUnlimited) return null;
      if (parsed === undefined || parsed === null) throw conversionError(p, value, 'The size must be a number of bytes or a number with a unit (B, KB, MB, GB, TB).');
      return parsed;
    }
    case 'Enum': {
      const text = String(value);
      const match = p.values?.find((v) => v.toLowerCase() === text.toLowerCase());
      if (match) return match;
      if (p.invalidValueMessage) throw new InterchangeError('ICX_PARAM_INVALID', p.invalidValueMessage.replace('{0}', text), { parameter: p.name });
      throw conversionError(p, value, `Unable to match the identifier name ${text} to a valid enumerator name. Specify one of the following enumerator names and try again: ${p.values?.join(', ')}`);
    }
    case 'Flags': {
      const parts = (Array.isArray(value) ? value.map(String) : String(value).split(',')).map((s) => s.trim()).filter(Boolean);
      return parts.map((part) => {
        const match = p.values?.find((v) => v.toLowerCase() === part.toLowerCase());
        if (!match) {
          if (p.invalidValueMessage) throw new InterchangeError('ICX_PARAM_INVALID', p.invalidValueMessage.replace('{0}', part), { parameter: p.name });
          throw conversionError(p, value, `Unable to match the identifier name ${part} to a valid enumerator name. Specify one of the following enumerator names and try again: ${p.values?.join(', ')}`);
        }
        return match;
      });
    }
  }
}

/** Converts a wire value to the parameter's type, with PowerShell's wording when it cannot. */
export function convertValue(p: ParameterDeclaration, value: WireValue): unknown {
  if (p.type === 'SwitchParameter' && value === undefined) return true;
  if (p.multiValued) {
    if (value === null) {
      if (p.nullable) return null;
      throw new InterchangeError('ICX_PARAM_CONVERSION', `Cannot bind argument to parameter '${p.name}' because it is null.`, { parameter: p.name });
    }
    if (value && typeof value === 'object' && !Array.isArray(value) && !('$bytes' in value) && !('$secure' in value) && !('$credential' in value)) {
      const entries = Object.entries(value).map(([k, v]) => [k.toLowerCase(), v] as const);
      const unknownKey = entries.find(([k]) => k !== 'add' && k !== 'remove');
      if (unknownKey) {
        throw new InterchangeError('ICX_PARAM_INVALID', `The hash table for parameter '${p.name}' may only contain the keys Add and Remove; '${unknownKey[0]}' is not allowed.`, { parameter: p.name });
      }
      const list = (v: WireValue | undefined) => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
      const single = { ...p, multiValued: false };
      return {
        add: list(entries.find(([k]) => k === 'add')?.[1]).map((v) => convertScalar(single, v)),
        remove: list(entries.find(([k]) => k === 'remove')?.[1]).map((v) => convertScalar(single, v)),
      } satisfies MultiValuedEdit<unknown>;
    }
    const items = Array.isArray(value) ? value : [value];
    const single = { ...p, multiValued: false };
    return items.map((v) => convertScalar(single, v));
  }
  if (Array.isArray(value) && p.type !== 'Byte[]' && p.type !== 'Flags') {
    if (value.length === 1) return convertScalar(p, value[0]);
    throw conversionError(p, value, 'The parameter takes a single value, not a list.');
  }
  return convertScalar(p, value);
}
