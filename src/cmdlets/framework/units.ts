// Exchange's value types that have no JavaScript equivalent: EnhancedTimeSpan
// (`d.hh:mm:ss`) and ByteQuantifiedSize (`35 MB (36,700,160 bytes)`).

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** `35MB`, `35 MB`, `36700160`, `36700160 B`, `35 MB (36,700,160 bytes)`; null for `unlimited`; undefined when unparseable. */
export function parseByteQuantifiedSize(text: string): number | null | undefined {
  const t = text.trim();
  if (/^unlimited$/i.test(t)) return null;
  const displayed = /\(([\d,]+) bytes\)\s*$/i.exec(t);
  if (displayed) return Number(displayed[1].replace(/,/g, ''));
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)?$/i.exec(t);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[(m[2] ?? 'B').toUpperCase()]);
}

function groupThousands(n: number): string {
  return n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Exchange's display: `35 MB (36,700,160 bytes)`, `Unlimited`. */
export function formatByteQuantifiedSize(bytes: number | null): string {
  if (bytes === null) return 'Unlimited';
  const units = ['TB', 'GB', 'MB', 'KB'];
  for (const u of units) {
    const size = UNITS[u];
    if (bytes >= size) {
      const value = bytes / size;
      const shown = Number.isInteger(value) ? String(value) : value.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
      return `${shown} ${u} (${groupThousands(bytes)} bytes)`;
    }
  }
  return `${bytes} B (${groupThousands(bytes)} bytes)`;
}

/** `[-][d.]hh:mm:ss[.fff]` to milliseconds; undefined when unparseable. */
export function parseTimeSpan(text: string): number | undefined {
  const m = /^\s*(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?\s*$/.exec(text);
  if (!m) return undefined;
  const [, neg, d, h, min, s, frac] = m;
  if (Number(min) > 59 || Number(s ?? 0) > 59 || Number(h) > 23) return undefined;
  const ms =
    ((Number(d ?? 0) * 24 + Number(h)) * 60 + Number(min)) * 60_000 + Number(s ?? 0) * 1000 + (frac ? Math.round(Number('0.' + frac) * 1000) : 0);
  return neg ? -ms : ms;
}

/** Milliseconds to `[d.]hh:mm:ss` as Exchange prints TimeSpans. */
export function formatTimeSpan(ms: number): string {
  const neg = ms < 0;
  let rest = Math.abs(ms);
  const days = Math.floor(rest / 86_400_000);
  rest -= days * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  const frac = rest - s * 1000;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${neg ? '-' : ''}${days ? days + '.' : ''}${pad(h)}:${pad(m)}:${pad(s)}${frac ? '.' + String(frac).padStart(3, '0') + '0000' : ''}`;
}

/**
 * A DateTime as Exchange puts it into a message: the server's culture (en-US,
 * `M/d/yyyy h:mm:ss tt`) in the server's time zone, as .NET's DateTime.ToString().
 */
export function formatCultureDateTime(d: Date): string {
  const h = d.getHours();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${d.getMonth() + 1}/${d.getDate()}/${d.getFullYear()} ${h12}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}
