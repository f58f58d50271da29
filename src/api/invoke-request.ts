// The body of POST /api/v1/cmdlets/<name>, checked before the cmdlet layer
// sees it: a body of the wrong shape is the caller's mistake (400 with
// ICX_REQUEST_INVALID), never an internal error.
import type { InvokeRequest, WireValue } from '../cmdlets/contract.js';
import { InterchangeError } from '../errors/interchange-error.js';

/** Deeper than any parameter value needs (a hashtable of arrays of hashtables); the walk below is iterative. */
const MAX_DEPTH = 32;
const CONFIRM_IMPACTS = new Set(['None', 'Low', 'Medium', 'High']);

export function parseInvokeRequest(body: unknown): InvokeRequest {
  if (body === undefined || body === null) return {};
  if (!isPlainObject(body)) throw invalid('the body must be a JSON object');
  const out: InvokeRequest = {};
  for (const [key, value] of Object.entries(body)) {
    switch (key) {
      case 'parameters':
        if (!isPlainObject(value)) throw invalid('"parameters" must be an object of parameter names and values');
        checkDepth(value, 'parameters');
        out.parameters = value as Record<string, WireValue>;
        break;
      case 'positional':
        if (!Array.isArray(value)) throw invalid('"positional" must be an array of values');
        checkDepth(value, 'positional');
        out.positional = value as WireValue[];
        break;
      case 'whatIf':
      case 'confirmed':
      case 'confirm':
        if (typeof value !== 'boolean') throw invalid(`"${key}" must be true or false`);
        out[key] = value;
        break;
      case 'confirmPreference':
        if (typeof value !== 'string' || !CONFIRM_IMPACTS.has(value)) throw invalid('"confirmPreference" must be None, Low, Medium or High');
        out.confirmPreference = value as InvokeRequest['confirmPreference'];
        break;
      case 'answers':
        if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === 'boolean')) throw invalid('"answers" must map question ids to true or false');
        out.answers = value as Record<string, boolean>;
        break;
      default:
        throw invalid(`"${key.slice(0, 64)}" is not a field of a cmdlet invocation`);
    }
  }
  return out;
}

function checkDepth(root: unknown, field: string): void {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_DEPTH) throw invalid(`"${field}" is nested more than ${MAX_DEPTH} levels deep`);
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth + 1]);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(why: string): InterchangeError {
  return new InterchangeError('ICX_REQUEST_INVALID', `The request is not a valid cmdlet invocation: ${why}.`);
}
