// Names of configuration objects (connectors, accepted domains, mail users,
// credentials) end up in protocol logs, audit rows, the shell's tables and the
// admin center. Characters that can forge a log line or disguise a name on
// screen are refused, and so is `\`, which separates server and name in an
// identity (`EX01\Default Frontend EX01`).
import { InterchangeError } from '../errors/interchange-error.js';

// C0 and C1 controls and DEL; bidirectional embeddings, overrides and isolates; zero-width characters and the BOM.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u;

export function checkObjectName(value: unknown, parameter = 'Name', maxLength = 64): string {
  const name = String(value ?? '').trim();
  if (!name || name.length > maxLength) throw new InterchangeError('ICX_PARAM_INVALID', `The name must be 1 to ${maxLength} characters long.`, { parameter });
  const bad = FORBIDDEN.exec(name);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new InterchangeError('ICX_PARAM_INVALID', `The name "${name.replace(FORBIDDEN, '?')}" contains the control or formatting character U+${code}, which names may not contain.`, { parameter });
  }
  if (name.includes('\\')) throw new InterchangeError('ICX_PARAM_INVALID', `The name "${name}" contains "\\", which separates a server from a name in an identity (Server\\Name).`, { parameter });
  return name;
}
