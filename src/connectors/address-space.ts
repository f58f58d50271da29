import type { AddressSpace } from '../directory/records.js';
import { InterchangeError } from '../errors/interchange-error.js';

const DOMAIN = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** `Type:Space;Cost` with type and cost optional (SMTP and 1), as Exchange parses AddressSpaces. */
export function parseAddressSpace(text: string): AddressSpace {
  const raw = text.trim();
  let rest = raw;
  let type = 'smtp';
  const colon = rest.indexOf(':');
  if (colon > 0) {
    type = rest.slice(0, colon);
    rest = rest.slice(colon + 1);
  }
  let cost = 1;
  const semi = rest.lastIndexOf(';');
  if (semi >= 0) {
    const costText = rest.slice(semi + 1).trim();
    rest = rest.slice(0, semi);
    if (!/^\d+$/.test(costText)) throw new InterchangeError('ICX_CONNECTOR_INVALID', `Cost value "${costText}" is not a valid number.`, { parameter: 'AddressSpaces' });
    cost = Number(costText);
    if (cost < 1 || cost > 100) throw new InterchangeError('ICX_CONNECTOR_INVALID', 'Cost value must be from 1 through 100.', { parameter: 'AddressSpaces' });
  }
  const address = rest.trim();
  if (type.toLowerCase() === 'smtp') {
    const domain = address.startsWith('*.') ? address.slice(2) : address;
    if (address !== '*' && address !== '--' && !DOMAIN.test(domain)) {
      throw new InterchangeError('ICX_CONNECTOR_INVALID', `The address space "${raw}" isn't valid. Use *, a domain such as contoso.com, or *.contoso.com for a domain and its subdomains.`, {
        parameter: 'AddressSpaces',
      });
    }
    return { type: type === 'smtp' ? 'smtp' : type, address: address.toLowerCase(), cost };
  }
  if (!address) throw new InterchangeError('ICX_CONNECTOR_INVALID', `The address space "${raw}" isn't valid.`, { parameter: 'AddressSpaces' });
  return { type, address, cost };
}

export function formatAddressSpace(a: AddressSpace): string {
  return `${a.type.toLowerCase() === 'smtp' ? 'SMTP' : a.type}:${a.address};${a.cost}`;
}

/**
 * How specifically an address space matches a recipient domain: -1 no match,
 * otherwise larger is more specific (exact > longer wildcard > `*`).
 */
export function addressSpaceSpecificity(a: AddressSpace, domain: string): number {
  if (a.type.toLowerCase() !== 'smtp') return -1;
  const d = domain.toLowerCase();
  if (a.address === '*') return 0;
  if (a.address.startsWith('*.')) {
    const base = a.address.slice(2);
    return d === base || d.endsWith('.' + base) ? 1 + base.length : -1;
  }
  return d === a.address ? 1000 + a.address.length : -1;
}
