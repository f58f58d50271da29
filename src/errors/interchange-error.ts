import type { ErrorCategory, WireError } from '../cmdlets/contract.js';
import { ERROR_CATALOG, type ErrorCode } from './catalog.js';

/**
 * The one error type every module throws. The code is stable (tests and
 * documentation refer to it); category and HTTP status come from the catalog,
 * so a caller never picks them ad hoc.
 */
export class InterchangeError extends Error {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  readonly httpStatus: number;
  readonly parameter?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { parameter?: string; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InterchangeError';
    this.code = code;
    const entry = ERROR_CATALOG[code];
    this.category = entry.category;
    this.httpStatus = entry.httpStatus;
    this.parameter = options.parameter;
    this.details = options.details;
  }

  toWire(): WireError {
    const wire: WireError = { code: this.code, category: this.category, message: this.message };
    if (this.parameter) wire.parameter = this.parameter;
    const { confirmation, ...facts } = this.details ?? {};
    if (confirmation) wire.confirmation = confirmation as WireError['confirmation'];
    if (Object.keys(facts).length) wire.details = facts;
    return wire;
  }
}

export function isInterchangeError(e: unknown): e is InterchangeError {
  return e instanceof InterchangeError;
}
