// .NET date format strings for ToString(format), Get-Date -Format and -f.

import { dayName, formatDateDisplay } from './values.js';

/** .NET custom date format strings, the common specifiers. */
export function formatDateCustom(d: Date, format: string): string {
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  if (format === 'o' || format === 'O') return d.toISOString().replace('Z', '0000Z');
  if (format === 's') return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (format === 'd') return `${d.getMonth() + 1}/${d.getDate()}/${d.getFullYear()}`;
  if (format === 'g') return formatDateDisplay(d).replace(/:\d\d (AM|PM)$/, ' $1');
  if (format === 'G') return formatDateDisplay(d);
  return format.replace(/yyyy|yy|MMMM|MMM|MM|M|dddd|ddd|dd|d|HH|H|hh|h|mm|m|ss|s|fff|tt|"[^"]*"|'[^']*'/g, (t) => {
    const h12 = d.getHours() % 12 === 0 ? 12 : d.getHours() % 12;
    switch (t) {
      case 'yyyy': return String(d.getFullYear());
      case 'yy': return pad(d.getFullYear() % 100);
      case 'MMMM': return d.toLocaleString('en-US', { month: 'long' });
      case 'MMM': return d.toLocaleString('en-US', { month: 'short' });
      case 'MM': return pad(d.getMonth() + 1);
      case 'M': return String(d.getMonth() + 1);
      case 'dddd': return dayName(d);
      case 'ddd': return dayName(d).slice(0, 3);
      case 'dd': return pad(d.getDate());
      case 'd': return String(d.getDate());
      case 'HH': return pad(d.getHours());
      case 'H': return String(d.getHours());
      case 'hh': return pad(h12);
      case 'h': return String(h12);
      case 'mm': return pad(d.getMinutes());
      case 'm': return String(d.getMinutes());
      case 'ss': return pad(d.getSeconds());
      case 's': return String(d.getSeconds());
      case 'fff': return pad(d.getMilliseconds(), 3);
      case 'tt': return d.getHours() < 12 ? 'AM' : 'PM';
      default: return t.slice(1, -1);
    }
  });
}

