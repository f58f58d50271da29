// PowerShell wildcards (`*`, `?`, `[abc]`, `[a-z]`, backtick escapes) matched
// without regular expressions. A pattern such as '*a*a*a*a*a*a*a*a*b' turned
// into `^.*a.*a…b$` makes V8 backtrack for seconds on one subject; a
// View-Only administrator's -Filter must not stall the transport that way.
//
// The pattern is split at its stars into segments of fixed length. The first
// segment is anchored at the start, the last at the end, and each middle one
// is taken at its leftmost match (leftmost is always safe when everything
// between segments is a star), so no choice is ever revisited: the cost is at
// most text length × pattern length, with no backtracking.

type Atom = { kind: 'char'; c: string } | { kind: 'any' } | { kind: 'set'; ranges: Array<[string, string]>; negated: boolean };

export interface WildcardPattern {
  test(text: string): boolean;
}

/** PowerShell's -like has sets and backtick escapes; OPath filters only `*` and `?` (`shell: false`). */
export function compileWildcard(pattern: string, options: { caseSensitive?: boolean; shell?: boolean } = {}): WildcardPattern {
  const caseSensitive = options.caseSensitive ?? false;
  const shell = options.shell ?? true;
  const fold = (s: string) => (caseSensitive ? s : s.toLowerCase());
  const segments: Atom[][] = [[]];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const current = segments[segments.length - 1];
    if (shell && c === '`' && i + 1 < pattern.length) current.push({ kind: 'char', c: fold(pattern[++i]) });
    else if (c === '*') segments.push([]);
    else if (c === '?') current.push({ kind: 'any' });
    else if (shell && c === '[' && pattern.indexOf(']', i + 1) > i + 1) {
      const close = pattern.indexOf(']', i + 1);
      current.push(parseSet(fold(pattern.slice(i + 1, close))));
      i = close;
    } else current.push({ kind: 'char', c: fold(c) });
  }
  const starred = segments.length > 1;
  return {
    test(input: string): boolean {
      const text = fold(input);
      const first = segments[0];
      if (!starred) return text.length === first.length && matchesAt(first, text, 0);
      const last = segments[segments.length - 1];
      if (first.length + last.length > text.length) return false;
      if (!matchesAt(first, text, 0) || !matchesAt(last, text, text.length - last.length)) return false;
      let pos = first.length;
      const end = text.length - last.length;
      for (let s = 1; s < segments.length - 1; s++) {
        const seg = segments[s];
        let found = -1;
        for (let at = pos; at + seg.length <= end; at++) {
          if (matchesAt(seg, text, at)) {
            found = at;
            break;
          }
        }
        if (found < 0) return false;
        pos = found + seg.length;
      }
      return true;
    },
  };
}

function matchesAt(segment: Atom[], text: string, at: number): boolean {
  for (let k = 0; k < segment.length; k++) {
    const a = segment[k];
    const ch = text[at + k];
    if (a.kind === 'any') continue;
    if (a.kind === 'char') {
      if (a.c !== ch) return false;
      continue;
    }
    const inSet = a.ranges.some(([lo, hi]) => ch >= lo && ch <= hi);
    if (inSet === a.negated) return false;
  }
  return true;
}

function parseSet(body: string): Atom {
  const negated = body.startsWith('!') || body.startsWith('^');
  const chars = negated ? body.slice(1) : body;
  const ranges: Array<[string, string]> = [];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i + 1] === '-' && i + 2 < chars.length) {
      ranges.push([chars[i], chars[i + 2]]);
      i += 2;
    } else ranges.push([chars[i], chars[i]]);
  }
  return { kind: 'set', ranges, negated };
}
