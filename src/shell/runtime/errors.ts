// PowerShell's error model: an ErrorRecord carries what the console shows
// (message, command, position, category, exception type, error id); the
// signals below say how far an error unwinds.

import type { ErrorCategory } from '../../cmdlets/contract.js';

export interface SourceSpan {
  source: string;
  start: number;
  end: number;
  /** Script path for -File; absent for interactive and -Command text. */
  file?: string;
}

export class ErrorRecord {
  constructor(
    readonly message: string,
    readonly fields: {
      /** The FullyQualifiedErrorId as shown (`ICX_CERT_NOT_FOUND,Get-ExchangeCertificate`, `CommandNotFoundException`). */
      errorId: string;
      category: ErrorCategory | 'ParserError';
      exceptionName: string;
      /** Command the error belongs to; it prefixes the message (`Get-Foo : ...`). */
      commandName?: string;
      /** CategoryInfo activity in brackets; defaults to commandName. */
      activity?: string;
      /** Target shown inside CategoryInfo's parentheses: `(Get-Foo:String)`. */
      target?: string;
      targetType?: string;
      span?: SourceSpan;
      /** The server's own error code (ICX_...), kept for callers and tests. */
      code?: string;
      parameter?: string;
    },
  ) {}

  get errorId(): string {
    return this.fields.errorId;
  }
  get category(): string {
    return this.fields.category;
  }
  withSpan(span: SourceSpan | undefined): ErrorRecord {
    if (!span || this.fields.span) return this;
    return new ErrorRecord(this.message, { ...this.fields, span });
  }
  withCommand(commandName: string): ErrorRecord {
    if (this.fields.commandName) return this;
    return new ErrorRecord(this.message, { ...this.fields, commandName, activity: this.fields.activity ?? commandName });
  }
  toString(): string {
    return this.message;
  }
}

/** An error raised while evaluating an expression (operators, members, conversions). */
export class PSRuntimeError extends Error {
  constructor(
    message: string,
    readonly errorId = 'RuntimeException',
    readonly category: ErrorCategory = 'InvalidOperation',
    readonly exceptionName = 'RuntimeException',
  ) {
    super(message);
  }
  toRecord(span?: SourceSpan): ErrorRecord {
    return new ErrorRecord(this.message, { errorId: this.errorId, category: this.category, exceptionName: this.exceptionName, span });
  }
}

/** Stops the current statement; the script goes on with the next one. */
export class StatementTerminatingError extends Error {
  constructor(readonly record: ErrorRecord) {
    super(record.message);
  }
}

/** Stops the whole script (throw, -ErrorAction Stop, $ErrorActionPreference = 'Stop'). */
export class ScriptTerminatingError extends Error {
  constructor(readonly record: ErrorRecord) {
    super(record.message);
  }
}

/** Ctrl-C: the running pipeline stops without an error message. */
export class PipelineStoppedError extends Error {
  constructor() {
    super('The pipeline has been stopped.');
  }
}

export class ExitSignal {
  constructor(readonly code: number) {}
}
export class BreakSignal {}
export class ContinueSignal {}
export class ReturnSignal {
  constructor(readonly output: unknown[]) {}
}
