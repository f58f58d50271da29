// The syntax tree of the PowerShell subset. Every node keeps its source extent
// so runtime errors can point at the command the way PowerShell does.

export interface Extent {
  start: number;
  end: number;
}

export interface ScriptAst extends Extent {
  kind: 'script';
  statements: StatementAst[];
  source: string;
}

export type StatementAst =
  | PipelineAst
  | AssignmentAst
  | IfAst
  | ForeachAst
  | WhileAst
  | TryAst
  | FunctionAst
  | SwitchAst
  | FlowAst;

export interface SwitchAst extends Extent {
  kind: 'switch';
  mode: 'exact' | 'wildcard' | 'regex';
  caseSensitive: boolean;
  value: PipelineAst;
  /** `default` clauses have no condition. */
  clauses: Array<{ condition?: ExpressionAst; body: StatementBlockAst }>;
}

/** One parameter of a function or script block: `[Parameter(Mandatory)][string]$Name = 'x'`. */
export interface ParamAst extends Extent {
  name: string;
  typeName?: string;
  defaultValue?: ExpressionAst;
  mandatory: boolean;
  valueFromPipeline: boolean;
}

export interface FunctionAst extends Extent {
  kind: 'function';
  name: string;
  body: ScriptBlockAst;
}

export interface TryAst extends Extent {
  kind: 'try';
  body: StatementBlockAst;
  /** Each catch clause with the exception type names it filters on (none = all). */
  catches: Array<{ types: string[]; body: StatementBlockAst }>;
  finallyBody?: StatementBlockAst;
}

export interface PipelineAst extends Extent {
  kind: 'pipeline';
  elements: PipelineElementAst[];
  /** `expr > file` after an expression pipeline. */
  redirection?: { append: boolean; target: ExpressionAst };
}

export type PipelineElementAst = CommandAst | CommandExpressionAst;

export interface CommandExpressionAst extends Extent {
  kind: 'commandExpression';
  expression: ExpressionAst;
}

export interface CommandAst extends Extent {
  kind: 'command';
  /** Bare command name, or an expression after the `&` call operator. */
  name: string | ExpressionAst;
  nameExtent: Extent;
  elements: CommandElementAst[];
  /** `> file` / `>> file` redirection of the success stream. */
  redirection?: { append: boolean; target: ExpressionAst };
}

export type CommandElementAst = ParameterAst | ArgumentAst | SplatAst;

export interface ParameterAst extends Extent {
  kind: 'parameter';
  /** Name without the dash, as typed. */
  name: string;
  /** Argument given with a colon: `-Confirm:$false`. */
  argument?: ExpressionAst;
}

export interface ArgumentAst extends Extent {
  kind: 'argument';
  value: ExpressionAst;
}

export interface SplatAst extends Extent {
  kind: 'splat';
  variable: string;
}

export interface AssignmentAst extends Extent {
  kind: 'assignment';
  target: ExpressionAst;
  operator: '=' | '+=' | '-=' | '*=' | '/=';
  value: StatementAst;
}

export interface IfAst extends Extent {
  kind: 'if';
  clauses: Array<{ condition: PipelineAst | AssignmentAst; body: StatementBlockAst }>;
  elseBody?: StatementBlockAst;
}

export interface ForeachAst extends Extent {
  kind: 'foreach';
  variable: string;
  iterable: PipelineAst;
  body: StatementBlockAst;
}

export interface WhileAst extends Extent {
  kind: 'while';
  condition: PipelineAst | AssignmentAst;
  body: StatementBlockAst;
}

export interface FlowAst extends Extent {
  kind: 'flow';
  keyword: 'exit' | 'throw' | 'return' | 'break' | 'continue';
  value?: PipelineAst;
}

export interface StatementBlockAst extends Extent {
  kind: 'block';
  statements: StatementAst[];
}

export type ExpressionAst =
  | ConstantAst
  | StringAst
  | ExpandableStringAst
  | VariableAst
  | MemberAst
  | InvokeMemberAst
  | IndexAst
  | UnaryAst
  | BinaryAst
  | ArrayLiteralAst
  | ArraySubexpressionAst
  | SubexpressionAst
  | ParenAst
  | HashtableAst
  | ScriptBlockAst
  | TypeAst
  | ConvertAst;

export interface ConstantAst extends Extent {
  kind: 'constant';
  value: number;
  /** Source text of a number written in argument mode; a String parameter receives the text. */
  text?: string;
}

export interface StringAst extends Extent {
  kind: 'string';
  value: string;
  /** Bare word in argument mode (unquoted). */
  bare?: boolean;
}

export interface ExpandableStringAst extends Extent {
  kind: 'expandable';
  parts: Array<string | ExpressionAst>;
}

export interface VariableAst extends Extent {
  kind: 'variable';
  name: string;
}

export interface MemberAst extends Extent {
  kind: 'member';
  target: ExpressionAst;
  member: string | ExpressionAst;
  isStatic: boolean;
}

export interface InvokeMemberAst extends Extent {
  kind: 'invoke';
  target: ExpressionAst;
  member: string;
  isStatic: boolean;
  args: ExpressionAst[];
}

export interface IndexAst extends Extent {
  kind: 'index';
  target: ExpressionAst;
  index: ExpressionAst;
}

export interface UnaryAst extends Extent {
  kind: 'unary';
  operator: '-not' | '!' | '-' | '+' | '-bnot' | ',' | '-split' | '-join';
  operand: ExpressionAst;
}

export interface BinaryAst extends Extent {
  kind: 'binary';
  /** Lower-case operator, e.g. '-eq', '-ceq', '+', '..'. */
  operator: string;
  left: ExpressionAst;
  right: ExpressionAst;
}

export interface ArrayLiteralAst extends Extent {
  kind: 'array';
  elements: ExpressionAst[];
}

export interface ArraySubexpressionAst extends Extent {
  kind: 'arraySubexpression';
  statements: StatementAst[];
}

export interface SubexpressionAst extends Extent {
  kind: 'subexpression';
  statements: StatementAst[];
}

export interface ParenAst extends Extent {
  kind: 'paren';
  statement: StatementAst;
}

export interface HashtableAst extends Extent {
  kind: 'hashtable';
  entries: Array<{ key: ExpressionAst; value: StatementAst }>;
}

export interface ScriptBlockAst extends Extent {
  kind: 'scriptblock';
  statements: StatementAst[];
  text: string;
  /** From `param(...)` at the start of the block, or `function f($a, $b)`. */
  params?: ParamAst[];
  /** `begin { } process { } end { }` blocks; `statements` is then empty. */
  named?: { begin?: StatementAst[]; process?: StatementAst[]; end?: StatementAst[] };
}

export interface TypeAst extends Extent {
  kind: 'type';
  typeName: string;
}

export interface ConvertAst extends Extent {
  kind: 'convert';
  typeName: string;
  operand: ExpressionAst;
}
