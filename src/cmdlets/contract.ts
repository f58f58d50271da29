// The wire contract between the cmdlet layer and every front end (HTTP API,
// shell, admin center). Everything a front end needs to know about a cmdlet
// travels in these shapes, so front ends never re-declare parameters.

/** PowerShell's ErrorCategory names, so the shell can render errors as PowerShell does. */
export type ErrorCategory =
  | 'NotSpecified'
  | 'InvalidArgument'
  | 'InvalidOperation'
  | 'InvalidData'
  | 'ObjectNotFound'
  | 'PermissionDenied'
  | 'ResourceUnavailable'
  | 'ResourceExists'
  | 'ConnectionError'
  | 'InvalidType'
  | 'MetadataError'
  | 'OperationStopped'
  | 'NotImplemented'
  | 'AuthenticationError'
  | 'WriteError';

export type ConfirmImpact = 'None' | 'Low' | 'Medium' | 'High';

/**
 * Parameter value types. Multi-valued parameters accept a list; on Set-* cmdlets
 * they also accept `{Add: [...], Remove: [...]}` as Exchange does.
 */
export type ParameterTypeName =
  | 'String'
  | 'Int32'
  | 'Int64'
  | 'Boolean'
  | 'SwitchParameter'
  | 'SecureString'
  | 'Byte[]'
  | 'DateTime'
  | 'TimeSpan'
  | 'ByteQuantifiedSize'
  | 'PSCredential'
  | 'Enum'
  | 'Flags';

export interface ParameterInfo {
  name: string;
  type: ParameterTypeName;
  /** For Enum/Flags: the allowed values, in Exchange's spelling. */
  values?: string[];
  multiValued?: boolean;
  /** Parameter sets this parameter belongs to; empty = all sets. */
  sets?: string[];
  /** Sets in which the parameter is mandatory. `true` = mandatory in every set it belongs to. */
  mandatory?: boolean | string[];
  /** 0-based position for positional binding. */
  position?: number;
  valueFromPipeline?: boolean;
  valueFromPipelineByPropertyName?: boolean;
  /** Accepts $null (clears the property on Set-* cmdlets). */
  nullable?: boolean;
  description: string;
  aliases?: string[];
}

export interface CmdletExample {
  code: string;
  remarks: string;
}

export interface CmdletInfo {
  name: string;
  synopsis: string;
  description?: string;
  parameters: ParameterInfo[];
  parameterSets: string[];
  defaultParameterSet: string;
  outputType?: string;
  /** The management role needed (Exchange's role names). */
  role: string;
  /** true for cmdlets that change state: they support -WhatIf and -Confirm. */
  changesState: boolean;
  confirmImpact: ConfirmImpact;
  examples: CmdletExample[];
}

export type PropertyTypeName =
  | 'String'
  | 'Int32'
  | 'Int64'
  | 'Boolean'
  | 'DateTime'
  | 'TimeSpan'
  | 'Guid'
  | 'ByteQuantifiedSize'
  | 'Object';

export interface PropertyInfo {
  name: string;
  type: PropertyTypeName;
  multiValued?: boolean;
  /** For an Object property: the ObjectTypeInfo its values have (what Get-Member shows). */
  objectType?: string;
}

export interface ObjectTypeInfo {
  name: string;
  properties: PropertyInfo[];
  /** Columns of the default table view (Format-Table without -Property). */
  defaultTableView: string[];
  /** Column headers that differ from the property name, e.g. ServicesStringForm shown as "Services". */
  tableColumnLabels?: Record<string, string>;
  /** Properties of the default list view (Format-List without -Property). */
  defaultListView: string[];
  /**
   * For Exchange's value types (SmtpDomainWithSubdomains): the property whose value is
   * the object's ToString(), which tables, lists, strings and comparisons use.
   */
  toStringProperty?: string;
}

/**
 * Wire encoding of values in parameters and results:
 * - DateTime: ISO-8601 string (property types say which strings are dates)
 * - Byte[]: `{"$bytes": "<base64>"}`
 * - SecureString: `{"$secure": "<plain text>"}` (the transport is the admin API over TLS or loopback)
 * - PSCredential: `{"$credential": {"userName": "...", "password": "..."}}`
 * - Multi-valued Set-* edits: `{"Add": [...], "Remove": [...]}`
 */
export type WireValue =
  | null
  | string
  | number
  | boolean
  | WireValue[]
  | { $bytes: string }
  | { $secure: string }
  | { $credential: { userName: string; password: string } }
  | { [key: string]: WireValue };

export interface InvokeRequest {
  /** Named parameters; names may be unambiguous prefixes and any case. */
  parameters?: Record<string, WireValue>;
  /** Positional arguments in order. */
  positional?: WireValue[];
  whatIf?: boolean;
  /**
   * `true` means the caller already confirmed (or passed -Confirm:$false).
   * When omitted, a cmdlet whose impact meets `confirmPreference` answers
   * with a ConfirmationRequired error carrying the prompt text instead of acting.
   */
  confirmed?: boolean;
  /** $ConfirmPreference of the caller; default 'High'. */
  confirmPreference?: ConfirmImpact;
  /** -Confirm switch given explicitly (forces the prompt even for low impact). */
  confirm?: boolean;
  /**
   * Answers to ShouldContinue questions (a ConfirmationRequired error whose
   * confirmation has `kind: 'ShouldContinue'` and an `id`): true for Yes,
   * false for No. A No lets the cmdlet go on without that step, as in Exchange
   * (answering No to "Overwrite the existing default SMTP certificate?").
   */
  answers?: Record<string, boolean>;
}

export interface WireError {
  code: string;
  category: ErrorCategory;
  message: string;
  /** For ConfirmationRequired: the prompt caption and text. */
  confirmation?: { caption: string; query: string; target: string; kind: 'ShouldProcess' | 'ShouldContinue'; id?: string };
  /** Offending parameter, when the error is about one. */
  parameter?: string;
  /** Structured facts behind the message, so front ends never parse it (e.g. `{ connectors: [...] }` for a refused removal). */
  details?: Record<string, unknown>;
}

export interface InvokeResponse {
  ok: boolean;
  cmdlet: string;
  /**
   * Output objects, each with a `$type` naming its ObjectTypeInfo. A cmdlet whose
   * Exchange counterpart writes text (New-ExchangeCertificate -GenerateRequest) writes strings here.
   */
  output: Array<Record<string, unknown>>;
  warnings: string[];
  /** -WhatIf lines: `What if: <action> on target "<target>".` */
  whatIf: string[];
  /** Non-terminating errors written while producing output. */
  errors: WireError[];
  /** Terminating error, when ok is false. */
  error?: WireError;
}
