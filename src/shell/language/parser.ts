// A hand-written recursive-descent parser for the PowerShell subset. PowerShell's
// tokens depend on the parsing mode (a command argument `a,b` or `-eq` means
// something else than in an expression), so scanning happens on demand inside
// the parser instead of in a separate tokenizer pass.

import type {
  ArrayLiteralAst,
  CommandAst,
  CommandElementAst,
  ExpressionAst,
  FlowAst,
  ForeachAst,
  HashtableAst,
  IfAst,
  PipelineAst,
  PipelineElementAst,
  ScriptAst,
  ScriptBlockAst,
  StatementAst,
  StatementBlockAst,
  WhileAst,
  AssignmentAst,
  TryAst,
  FunctionAst,
  ParamAst,
  SwitchAst,
} from './ast.js';
import { ParseError } from './parse-error.js';

const COMPARISON_BASE = [
  'eq', 'ne', 'gt', 'ge', 'lt', 'le', 'like', 'notlike', 'match', 'notmatch',
  'contains', 'notcontains', 'in', 'notin', 'replace', 'split',
];
const COMPARISON = new Set<string>([
  ...COMPARISON_BASE,
  ...COMPARISON_BASE.map((o) => 'i' + o),
  ...COMPARISON_BASE.map((o) => 'c' + o),
  'is', 'isnot', 'as', 'join',
]);
const LOGICAL = new Set(['and', 'or', 'xor']);
const BITWISE = new Set(['band', 'bor', 'bxor', 'shl', 'shr']);
const UNARY_WORDS = new Set(['not', 'bnot', 'split', 'join']);
const KEYWORDS = new Set(['if', 'foreach', 'while', 'try', 'function', 'switch', 'exit', 'throw', 'return', 'break', 'continue']);

const LEVEL_LOGICAL = 0;
const LEVEL_BITWISE = 1;
const LEVEL_COMPARISON = 2;
const LEVEL_ADDITIVE = 3;
const LEVEL_MULTIPLICATIVE = 4;
const LEVEL_FORMAT = 5;
const LEVEL_RANGE = 6;
const LEVEL_ARRAY = 7;

function isDash(c: string | undefined): boolean {
  return c === '-' || c === '\u2013' || c === '\u2014' || c === '\u2015';
}
function isSingleQuote(c: string | undefined): boolean {
  return c === "'" || c === '\u2018' || c === '\u2019' || c === '\u201a' || c === '\u201b';
}
function isDoubleQuote(c: string | undefined): boolean {
  return c === '"' || c === '\u201c' || c === '\u201d' || c === '\u201e';
}
function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\f' || c === '\v' || c === '\u00a0';
}
function isNewline(c: string | undefined): boolean {
  return c === '\n' || c === '\r';
}
function isLetter(c: string | undefined): boolean {
  return c !== undefined && /\p{L}/u.test(c);
}
function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[\p{L}\p{N}_]/u.test(c);
}
function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

const NUMBER_RE = /^(0x[0-9a-f]+|(?:\d+(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?)(l|d)?(kb|mb|gb|tb|pb)?$/i;
const MULTIPLIERS: Record<string, number> = { kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4, pb: 1024 ** 5 };

/** The numeric value of a PowerShell number literal (`42`, `-1.5`, `0x1F`, `2kb`), or undefined. */
export function parseNumberLiteral(text: string): number | undefined {
  let body = text;
  let sign = 1;
  if (isDash(body[0]) || body[0] === '+') {
    if (isDash(body[0])) sign = -1;
    body = body.slice(1);
  }
  const m = NUMBER_RE.exec(body);
  if (!m) return undefined;
  const digits = m[1];
  let value = /^0x/i.test(digits) ? parseInt(digits.slice(2), 16) : Number(digits);
  if (m[3]) value *= MULTIPLIERS[m[3].toLowerCase()];
  return sign * value;
}

function escapeChar(c: string): string {
  switch (c) {
    case '0': return '\0';
    case 'a': return '\x07';
    case 'b': return '\b';
    case 'e': return '\x1b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'v': return '\v';
    default: return c;
  }
}

class Parser {
  pos = 0;
  /** Inside method-call arguments a comma separates arguments instead of building an array. */
  private noComma = false;

  constructor(readonly src: string) {}

  // ---- scanning helpers ----

  private peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }
  private atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  private fail(message: string, errorId: string, offset = this.pos, length = 1, incomplete = this.atEnd()): ParseError {
    return new ParseError(message, errorId, offset, Math.max(length, 1), incomplete);
  }

  private unexpectedToken(): ParseError {
    const start = this.pos;
    let end = start + 1;
    const first = this.src[start];
    if (isWordChar(first) || isDash(first) || first === '$') {
      while (end < this.src.length && /[^\s;|(){},]/.test(this.src[end])) end++;
    }
    const token = this.src.slice(start, end);
    return this.fail(`Unexpected token '${token}' in expression or statement.`, 'UnexpectedToken', start, end - start, false);
  }

  /** Skips blanks, comments and backtick line continuations; newlines too when asked. */
  private skipTrivia(newlines: boolean): void {
    for (;;) {
      const c = this.peek();
      if (isBlank(c)) {
        this.pos++;
      } else if (c === '`' && isNewline(this.peek(1))) {
        this.pos += this.peek(1) === '\r' && this.peek(2) === '\n' ? 3 : 2;
      } else if (c === '`' && this.pos + 1 >= this.src.length) {
        throw this.fail('Incomplete line continuation.', 'IncompleteLineContinuation', this.pos, 1, true);
      } else if (c === '#') {
        while (!this.atEnd() && !isNewline(this.peek())) this.pos++;
      } else if (c === '<' && this.peek(1) === '#') {
        const close = this.src.indexOf('#>', this.pos + 2);
        if (close < 0) throw this.fail("Missing closing '#>' in block comment.", 'MissingEndOfBlockComment', this.pos, 2, true);
        this.pos = close + 2;
      } else if (newlines && isNewline(c)) {
        this.pos++;
      } else {
        return;
      }
    }
  }

  private peekWord(): string {
    let end = this.pos;
    while (end < this.src.length && isLetter(this.src[end])) end++;
    return this.src.slice(this.pos, end);
  }

  /** A keyword at the current position, only when followed by a token boundary. */
  private peekKeyword(): string | undefined {
    const word = this.peekWord();
    if (!word) return undefined;
    const lower = word.toLowerCase();
    if (!KEYWORDS.has(lower)) return undefined;
    const next = this.src[this.pos + word.length];
    if (next === undefined || isBlank(next) || isNewline(next) || next === '(' || next === '{' || next === ';' || next === '}' || next === ')') {
      return lower;
    }
    return undefined;
  }

  /** Whether the statement at the current position starts with an expression rather than a command. */
  private startsExpression(): boolean {
    const c = this.peek();
    const n = this.peek(1);
    if (c === '$' || c === '(' || c === '[' || c === '{' || c === '!' || c === ',') return true;
    if (c === '@') return n === '(' || n === '{' || isDoubleQuote(n) || isSingleQuote(n);
    if (isSingleQuote(c) || isDoubleQuote(c)) return true;
    if (isDigit(c)) return true;
    if (c === '.' && isDigit(n)) return true;
    if (c === '+' && (isDigit(n) || n === '.')) return true;
    if (isDash(c)) {
      if (isDigit(n) || n === '.') return true;
      const save = this.pos;
      this.pos++;
      const word = this.peekWord().toLowerCase();
      this.pos = save;
      return UNARY_WORDS.has(word);
    }
    return false;
  }

  // ---- statements ----

  parseScript(): ScriptAst {
    const statements = this.parseStatementList(null, '');
    return { kind: 'script', statements, source: this.src, start: 0, end: this.src.length };
  }

  private parseStatementList(close: ')' | '}' | null, missingMessage: string, missingId = 'MissingEndCurlyBrace', openAt = this.pos): StatementAst[] {
    const out: StatementAst[] = [];
    for (;;) {
      this.skipTrivia(true);
      while (this.peek() === ';') {
        this.pos++;
        this.skipTrivia(true);
      }
      if (this.atEnd()) {
        if (close) throw this.fail(missingMessage, missingId, openAt, 1, true);
        return out;
      }
      const c = this.peek();
      if (close && c === close) return out;
      if (c === ')' || c === '}') throw this.unexpectedToken();
      out.push(this.parseStatement());
      this.skipTrivia(false);
      const d = this.peek();
      if (this.atEnd() || d === ';' || isNewline(d) || (close && d === close)) continue;
      throw this.unexpectedToken();
    }
  }

  private parseStatement(): StatementAst {
    switch (this.peekKeyword()) {
      case 'if': return this.parseIf();
      case 'foreach': return this.parseForeach();
      case 'while': return this.parseWhile();
      case 'try': return this.parseTry();
      case 'function': return this.parseFunction();
      case 'switch': return this.parseSwitch();
      case 'exit':
      case 'throw':
      case 'return':
      case 'break':
      case 'continue':
        return this.parseFlow();
      default:
        return this.parsePipelineOrAssignment();
    }
  }

  private parseBlock(missing: string, missingId: string): StatementBlockAst {
    this.skipTrivia(true);
    const start = this.pos;
    if (this.peek() !== '{') throw this.fail(missing, missingId);
    this.pos++;
    const statements = this.parseStatementList('}', "Missing closing '}' in statement block or type definition.", 'MissingEndCurlyBrace', start);
    this.pos++;
    return { kind: 'block', statements, start, end: this.pos };
  }

  private parseCondition(keyword: string): PipelineAst | AssignmentAst {
    this.skipTrivia(true);
    if (this.peek() !== '(') throw this.fail(`Missing '(' after '${keyword}' in ${keyword} statement.`, 'MissingOpenParenthesisInIfStatement');
    this.pos++;
    this.skipTrivia(true);
    if (this.peek() === ')') throw this.fail(`Missing condition in ${keyword} statement after '${keyword} ('.`, 'IfStatementMissingCondition');
    const condition = this.parsePipelineOrAssignment();
    this.skipTrivia(true);
    if (this.peek() !== ')') throw this.fail(`Missing closing ')' after expression in '${keyword}' statement.`, 'MissingEndParenthesisAfterStatement');
    this.pos++;
    return condition as PipelineAst | AssignmentAst;
  }

  private parseIf(): IfAst {
    const start = this.pos;
    this.pos += 2;
    const clauses: IfAst['clauses'] = [];
    const condition = this.parseCondition('if');
    clauses.push({ condition, body: this.parseBlock('Missing statement block after if ( condition ).', 'MissingStatementBlock') });
    let elseBody: StatementBlockAst | undefined;
    for (;;) {
      const save = this.pos;
      this.skipTrivia(true);
      const word = this.peekWord().toLowerCase();
      if (word === 'elseif') {
        this.pos += 6;
        const cond = this.parseCondition('elseif');
        clauses.push({ condition: cond, body: this.parseBlock('Missing statement block after elseif ( condition ).', 'MissingStatementBlockAfterElseIf') });
        continue;
      }
      if (word === 'else') {
        this.pos += 4;
        elseBody = this.parseBlock("Missing statement block after 'else' keyword.", 'MissingStatementBlockAfterElse');
        break;
      }
      this.pos = save;
      break;
    }
    return { kind: 'if', clauses, elseBody, start, end: this.pos };
  }

  private parseForeach(): ForeachAst {
    const start = this.pos;
    this.pos += 7;
    this.skipTrivia(true);
    if (this.peek() !== '(') throw this.fail("Missing opening '(' after keyword 'foreach'.", 'MissingOpenParenthesisAfterKeyword');
    this.pos++;
    this.skipTrivia(true);
    if (this.peek() !== '$') throw this.fail('Missing variable name after foreach.', 'MissingVariableNameAfterForeach');
    this.pos++;
    const variable = this.readVariableName();
    this.skipTrivia(true);
    if (this.peekWord().toLowerCase() !== 'in') throw this.fail("Missing 'in' after variable in foreach loop.", 'MissingInInForeach');
    this.pos += 2;
    this.skipTrivia(true);
    const iterable = this.parsePipeline();
    this.skipTrivia(true);
    if (this.peek() !== ')') throw this.fail("Missing closing ')' after expression in 'foreach' statement.", 'MissingEndParenthesisAfterForeach');
    this.pos++;
    const body = this.parseBlock("Missing statement body in foreach loop.", 'MissingForeachStatement');
    return { kind: 'foreach', variable, iterable, body, start, end: this.pos };
  }

  private parseWhile(): WhileAst {
    const start = this.pos;
    this.pos += 5;
    const condition = this.parseCondition('while');
    const body = this.parseBlock('Missing statement body in while loop.', 'MissingLoopStatement');
    return { kind: 'while', condition, body, start, end: this.pos };
  }

  private parseTry(): TryAst {
    const start = this.pos;
    this.pos += 3;
    const body = this.parseBlock("Missing statement block after 'try'.", 'MissingTryStatementBlock');
    const catches: TryAst['catches'] = [];
    let finallyBody: StatementBlockAst | undefined;
    for (;;) {
      const save = this.pos;
      this.skipTrivia(true);
      const word = this.peekWord().toLowerCase();
      if (word === 'catch' && !finallyBody) {
        this.pos += 5;
        const types: string[] = [];
        for (;;) {
          this.skipTrivia(true);
          if (this.peek() !== '[') break;
          types.push(this.readTypeName());
          this.skipTrivia(true);
          if (this.peek() === ',') this.pos++;
        }
        catches.push({ types, body: this.parseBlock("Missing statement block in catch block.", 'MissingCatchBlock') });
        continue;
      }
      if (word === 'finally' && !finallyBody) {
        this.pos += 7;
        finallyBody = this.parseBlock("Missing statement block after 'finally'.", 'MissingFinallyStatementBlock');
        break;
      }
      this.pos = save;
      break;
    }
    if (!catches.length && !finallyBody) {
      throw this.fail('The Try statement is missing its Catch or Finally block.', 'MissingCatchOrFinally', start, 3, this.atEnd());
    }
    return { kind: 'try', body, catches, finallyBody, start, end: this.pos };
  }

  private parseFlow(): FlowAst {
    const start = this.pos;
    const keyword = this.peekWord().toLowerCase() as FlowAst['keyword'];
    this.pos += keyword.length;
    this.skipTrivia(false);
    const c = this.peek();
    let value: PipelineAst | undefined;
    if (!(this.atEnd() || c === ';' || isNewline(c) || c === '}' || c === ')')) value = this.parsePipeline();
    return { kind: 'flow', keyword, value, start, end: this.pos };
  }

  private parsePipelineOrAssignment(): StatementAst {
    const start = this.pos;
    if (this.startsExpression()) {
      const expression = this.parseExpression();
      this.skipTrivia(false);
      if ((this.peek() === '+' && this.peek(1) === '+') || (isDash(this.peek()) && isDash(this.peek(1)))) {
        if (!['variable', 'member', 'index'].includes(expression.kind)) throw this.unexpectedToken();
        const plus = this.peek() === '+';
        this.pos += 2;
        const one: ExpressionAst = { kind: 'constant', value: 1, start: this.pos - 2, end: this.pos };
        const value: PipelineAst = { kind: 'pipeline', elements: [{ kind: 'commandExpression', expression: one, start: one.start, end: one.end }], start: one.start, end: one.end };
        return { kind: 'assignment', target: expression, operator: plus ? '+=' : '-=', value, start, end: this.pos };
      }
      const op = this.peekAssignmentOperator();
      if (op) {
        const assignable = (x: ExpressionAst): boolean => ['variable', 'member', 'index'].includes(x.kind) || (x.kind === 'convert' && x.operand.kind === 'variable');
        const multiple = op === '=' && expression.kind === 'array' && expression.elements.every(assignable);
        if (!assignable(expression) && !multiple) {
          throw this.fail(
            'The assignment expression is not valid. The input to an assignment operator must be an object that is able to accept assignments, such as a variable or a property.',
            'InvalidLeftHandSide', expression.start, expression.end - expression.start, false,
          );
        }
        const opPos = this.pos;
        this.pos += op.length;
        this.skipTrivia(true);
        if (this.atEnd()) throw this.fail(`You must provide a value expression on the right-hand side of the '${op}' operator.`, 'ExpectedValueExpression', opPos, op.length, true);
        const value = this.parseStatement();
        return { kind: 'assignment', target: expression, operator: op as AssignmentAst['operator'], value, start, end: this.pos };
      }
      if (this.peek() === '>') {
        const at = this.pos;
        const append = this.peek(1) === '>';
        this.pos += append ? 2 : 1;
        this.skipTrivia(false);
        if (this.atCommandEnd()) throw this.fail('Missing file specification after redirection operator.', 'MissingFileSpecification', at, 1);
        const target = this.parseArgumentValue();
        return { kind: 'pipeline', elements: [{ kind: 'commandExpression', expression, start: expression.start, end: expression.end }], redirection: { append, target }, start, end: this.pos };
      }
      return this.continuePipeline(start, [{ kind: 'commandExpression', expression, start: expression.start, end: expression.end }]);
    }
    return this.continuePipeline(start, [this.parseCommand()]);
  }

  private parsePipeline(): PipelineAst {
    const statement = this.parsePipelineOrAssignment();
    if (statement.kind !== 'pipeline') throw this.fail('An assignment is not allowed here.', 'UnexpectedAssignment', statement.start, statement.end - statement.start, false);
    return statement;
  }

  private continuePipeline(start: number, elements: PipelineElementAst[]): PipelineAst {
    for (;;) {
      this.skipTrivia(false);
      if (this.peek() !== '|' || this.peek(1) === '|') break;
      const pipeAt = this.pos;
      this.pos++;
      this.skipTrivia(true);
      const c = this.peek();
      if (this.atEnd() || c === '|' || c === ';' || c === ')' || c === '}') {
        throw this.fail('An empty pipe element is not allowed.', 'EmptyPipeElement', pipeAt, 1, this.atEnd());
      }
      if (this.startsExpression()) {
        const exprStart = this.pos;
        const expr = this.parseExpression();
        throw this.fail('Expressions are only allowed as the first element of a pipeline.', 'ExpressionsMustBeFirstInPipeline', exprStart, expr.end - exprStart, false);
      }
      elements.push(this.parseCommand());
    }
    return { kind: 'pipeline', elements, start, end: this.pos };
  }

  private peekAssignmentOperator(): string | undefined {
    const c = this.peek();
    const n = this.peek(1);
    if (c === '=' ) return '=';
    if ((c === '+' || c === '*' || c === '/') && n === '=') return c + '=';
    if (isDash(c) && n === '=') return '-=';
    return undefined;
  }

  // ---- commands (argument mode) ----

  private atCommandEnd(): boolean {
    const c = this.peek();
    return this.atEnd() || isNewline(c) || c === ';' || c === '|' || c === ')' || c === '}' || (c === '&' && this.peek(1) === '&');
  }

  private atArgumentEnd(): boolean {
    const c = this.peek();
    return this.atCommandEnd() || isBlank(c) || c === ',' || (c === '`' && isNewline(this.peek(1))) || c === '>';
  }

  private parseCommand(): CommandAst {
    const start = this.pos;
    let name: string | CommandAst['name'];
    let nameExtent;
    if (this.peek() === '&') {
      this.pos++;
      this.skipTrivia(false);
      const nameStart = this.pos;
      name = this.parseArgumentValue();
      nameExtent = { start: nameStart, end: this.pos };
    } else {
      const nameStart = this.pos;
      let text = '';
      while (!this.atEnd()) {
        const c = this.peek()!;
        if (isBlank(c) || isNewline(c) || ';|(){},'.includes(c) || isSingleQuote(c) || isDoubleQuote(c)) break;
        if (c === '`' && isNewline(this.peek(1))) break;
        text += c;
        this.pos++;
      }
      if (!text) throw this.unexpectedToken();
      name = text;
      nameExtent = { start: nameStart, end: this.pos };
    }
    const elements: CommandElementAst[] = [];
    let redirection: CommandAst['redirection'];
    for (;;) {
      this.skipTrivia(false);
      if (this.atCommandEnd()) break;
      const c = this.peek();
      const elStart = this.pos;
      if (c === '>') {
        const append = this.peek(1) === '>';
        this.pos += append ? 2 : 1;
        this.skipTrivia(false);
        if (this.atCommandEnd()) throw this.fail('Missing file specification after redirection operator.', 'MissingFileSpecification', elStart, 1);
        redirection = { append, target: this.parseArgumentValue() };
        continue;
      }
      if (isDash(c) && (isLetter(this.peek(1)) || this.peek(1) === '_' || this.peek(1) === '?')) {
        this.pos++;
        let pname = '';
        while (!this.atEnd() && (isWordChar(this.peek()) || this.peek() === '?' || isDash(this.peek()))) {
          pname += this.peek();
          this.pos++;
        }
        let argument: ExpressionAst | undefined;
        if (this.peek() === ':') {
          this.pos++;
          this.skipTrivia(false);
          if (this.atArgumentEnd()) {
            throw this.fail(`Missing an argument for parameter '${pname}'.`, 'MissingArgument', elStart, this.pos - elStart, this.atEnd());
          }
          argument = this.parseCommandArgument();
        }
        elements.push({ kind: 'parameter', name: pname, argument, start: elStart, end: this.pos });
        continue;
      }
      if (c === '@' && isWordChar(this.peek(1))) {
        this.pos++;
        const variable = this.readVariableName();
        elements.push({ kind: 'splat', variable, start: elStart, end: this.pos });
        continue;
      }
      const value = this.parseCommandArgument();
      elements.push({ kind: 'argument', value, start: elStart, end: this.pos });
    }
    return { kind: 'command', name, nameExtent, elements, redirection, start, end: this.pos };
  }

  /** One argument, with `a, b, c` collected into an array as argument mode does. */
  private parseCommandArgument(): ExpressionAst {
    const start = this.pos;
    const first = this.parseArgumentValue();
    const elements = [first];
    for (;;) {
      const save = this.pos;
      this.skipTrivia(false);
      if (this.peek() !== ',') {
        this.pos = save;
        break;
      }
      const commaAt = this.pos;
      this.pos++;
      this.skipTrivia(true);
      if (this.atCommandEnd()) throw this.fail("Missing argument in parameter list.", 'MissingArgument', commaAt, 1);
      elements.push(this.parseArgumentValue());
    }
    if (elements.length === 1) return first;
    const array: ArrayLiteralAst = { kind: 'array', elements, start, end: this.pos };
    return array;
  }

  private parseArgumentValue(): ExpressionAst {
    const start = this.pos;
    const c = this.peek();
    const n = this.peek(1);
    const saveNoComma = this.noComma;
    this.noComma = false;
    try {
      if (c === '$' || c === '(' || (c === '@' && (n === '(' || n === '{'))) {
        const expr = this.parsePostfix(this.parsePrimary());
        if (c === '$' && !this.atArgumentEnd() && this.peek() !== '(') {
          this.pos = start;
          return this.parseBareWord();
        }
        return expr;
      }
      if (c === '@' && (isDoubleQuote(n) || isSingleQuote(n))) return this.parsePrimary();
      if (c === '<' && n !== '#') throw this.fail("The '<' operator is reserved for future use.", 'RedirectionNotSupported', start, 1, false);
      if (isSingleQuote(c) || isDoubleQuote(c)) {
        const expr = this.parsePrimary();
        if (!this.atArgumentEnd() && this.peek() !== '(') {
          this.pos = start;
          return this.parseBareWord();
        }
        return expr;
      }
      if (c === '{') return this.parseScriptBlock();
      return this.parseBareWord();
    } finally {
      this.noComma = saveNoComma;
    }
  }

  /** A generic (unquoted) token: embedded quotes, `$var` expansion and backtick escapes, as PowerShell reads bare words. */
  private parseBareWord(): ExpressionAst {
    const start = this.pos;
    const parts: Array<string | ExpressionAst> = [];
    let buf = '';
    let quoted = false;
    let expanded = false;
    while (!this.atEnd()) {
      const c = this.peek()!;
      if (isBlank(c) || isNewline(c) || ';,|(){}'.includes(c) || c === '>') {
        if (c === '{' || c === '}' ) {
          if (c === '}' || buf === '') break;
          buf += c;
          this.pos++;
          continue;
        }
        break;
      }
      if (c === '&' && this.peek(1) === '&') break;
      if (c === '`') {
        if (isNewline(this.peek(1))) break;
        if (this.pos + 1 >= this.src.length) throw this.fail('Incomplete line continuation.', 'IncompleteLineContinuation', this.pos, 1, true);
        buf += escapeChar(this.src[this.pos + 1]);
        this.pos += 2;
        continue;
      }
      if (c === '$' && (isWordChar(this.peek(1)) || this.peek(1) === '(' || this.peek(1) === '{' || this.peek(1) === '_' || this.peek(1) === '?')) {
        if (buf) parts.push(buf);
        buf = '';
        parts.push(this.parseVariableOrSubexpression());
        expanded = true;
        continue;
      }
      if (isSingleQuote(c)) {
        buf += this.readSingleQuoted();
        quoted = true;
        continue;
      }
      if (isDoubleQuote(c)) {
        const strStart = this.pos;
        const inner = this.readExpandable();
        quoted = true;
        for (const part of inner) {
          if (typeof part === 'string') buf += part;
          else {
            if (buf) parts.push(buf);
            buf = '';
            parts.push(part);
            expanded = true;
          }
        }
        void strStart;
        continue;
      }
      buf += c;
      this.pos++;
    }
    if (buf) parts.push(buf);
    if (this.pos === start) throw this.unexpectedToken();
    if (!expanded) {
      const text = parts.join('');
      if (!quoted) {
        const number = parseNumberLiteral(text);
        if (number !== undefined) return { kind: 'constant', value: number, text, start, end: this.pos };
      }
      return { kind: 'string', value: text, bare: !quoted, start, end: this.pos };
    }
    return { kind: 'expandable', parts, start, end: this.pos };
  }

  // ---- strings ----

  private readSingleQuoted(): string {
    const start = this.pos;
    this.pos++;
    let out = '';
    for (;;) {
      if (this.atEnd()) throw this.fail("The string is missing the terminator: '.", 'TerminatorExpectedAtEndOfString', start, this.lineRest(start), true);
      const c = this.peek()!;
      if (isSingleQuote(c)) {
        if (isSingleQuote(this.peek(1))) {
          out += "'";
          this.pos += 2;
          continue;
        }
        this.pos++;
        return out;
      }
      out += c;
      this.pos++;
    }
  }

  private lineRest(start: number): number {
    let end = this.src.indexOf('\n', start);
    if (end < 0) end = this.src.length;
    return Math.max(end - start, 1);
  }

  /** The parts of a double-quoted string; the current position is on the opening quote. */
  private readExpandable(): Array<string | ExpressionAst> {
    const start = this.pos;
    this.pos++;
    const parts: Array<string | ExpressionAst> = [];
    let buf = '';
    for (;;) {
      if (this.atEnd()) throw this.fail('The string is missing the terminator: ".', 'TerminatorExpectedAtEndOfString', start, this.lineRest(start), true);
      const c = this.peek()!;
      if (isDoubleQuote(c)) {
        if (isDoubleQuote(this.peek(1))) {
          buf += '"';
          this.pos += 2;
          continue;
        }
        this.pos++;
        break;
      }
      if (c === '`') {
        if (this.pos + 1 >= this.src.length) {
          throw this.fail('The string is missing the terminator: ".', 'TerminatorExpectedAtEndOfString', start, this.lineRest(start), true);
        }
        buf += this.readEscape();
        continue;
      }
      if (c === '$' && this.startsVariableInString()) {
        if (buf) parts.push(buf);
        buf = '';
        parts.push(this.parseVariableOrSubexpression());
        continue;
      }
      buf += c;
      this.pos++;
    }
    if (buf) parts.push(buf);
    return parts;
  }

  private readEscape(): string {
    const e = this.src[this.pos + 1];
    if (e === 'u' && this.src[this.pos + 2] === '{') {
      const close = this.src.indexOf('}', this.pos + 3);
      if (close > 0) {
        const code = parseInt(this.src.slice(this.pos + 3, close), 16);
        this.pos = close + 1;
        return String.fromCodePoint(code);
      }
    }
    this.pos += 2;
    return escapeChar(e);
  }

  private startsVariableInString(): boolean {
    const n = this.peek(1);
    return n === '(' || n === '{' || isWordChar(n) || n === '?' || n === '$' || n === '^';
  }

  private parseHereString(): ExpressionAst {
    const start = this.pos;
    const expandable = isDoubleQuote(this.peek(1));
    this.pos += 2;
    while (isBlank(this.peek())) this.pos++;
    if (!isNewline(this.peek())) throw this.fail('No characters are allowed after a here-string header but before the end of the line.', 'UnexpectedCharactersAfterHereStringHeader');
    if (this.peek() === '\r') this.pos++;
    this.pos++;
    const isEnd = (): boolean => {
      if (!isNewline(this.peek()) && this.pos !== start) return false;
      let p = this.pos;
      if (this.src[p] === '\r') p++;
      if (this.src[p] !== '\n') return false;
      const q = this.src[p + 1];
      return (expandable ? isDoubleQuote(q) : isSingleQuote(q)) && this.src[p + 2] === '@';
    };
    const parts: Array<string | ExpressionAst> = [];
    let buf = '';
    // An empty here-string closes on the line right after the header.
    if ((expandable ? isDoubleQuote(this.peek()) : isSingleQuote(this.peek())) && this.peek(1) === '@') {
      this.pos += 2;
      return { kind: 'string', value: '', start, end: this.pos };
    }
    for (;;) {
      if (this.atEnd()) throw this.fail('The string is missing the terminator: ' + (expandable ? '"@' : "'@") + '.', 'TerminatorExpectedAtEndOfString', start, 2, true);
      if (isEnd()) {
        if (this.peek() === '\r') this.pos++;
        this.pos += 3;
        break;
      }
      const c = this.peek()!;
      if (expandable && c === '`' && this.pos + 1 < this.src.length) {
        buf += this.readEscape();
        continue;
      }
      if (expandable && c === '$' && this.startsVariableInString()) {
        if (buf) parts.push(buf);
        buf = '';
        parts.push(this.parseVariableOrSubexpression());
        continue;
      }
      buf += c;
      this.pos++;
    }
    if (buf) parts.push(buf);
    if (parts.every((p) => typeof p === 'string')) return { kind: 'string', value: parts.join(''), start, end: this.pos };
    return { kind: 'expandable', parts, start, end: this.pos };
  }

  // ---- variables ----

  private readVariableName(): string {
    if (this.peek() === '{') {
      const close = this.src.indexOf('}', this.pos);
      if (close < 0) throw this.fail("Missing '}' in variable name.", 'MissingEndCurlyBrace', this.pos, 1, true);
      const name = this.src.slice(this.pos + 1, close);
      this.pos = close + 1;
      return name;
    }
    const c = this.peek();
    if (c === '?' || c === '$' || c === '^') {
      this.pos++;
      return c;
    }
    let name = '';
    while (isWordChar(this.peek())) {
      name += this.peek();
      this.pos++;
    }
    // Scope or drive qualifier: $env:PATH, $script:x.
    if (this.peek() === ':' && isWordChar(this.peek(1)) && name) {
      this.pos++;
      name += ':';
      while (isWordChar(this.peek())) {
        name += this.peek();
        this.pos++;
      }
    }
    return name;
  }

  /** `$name`, `${name}` or `$( statements )`; the position is on the `$`. */
  private parseVariableOrSubexpression(): ExpressionAst {
    const start = this.pos;
    if (this.peek(1) === '(') {
      this.pos += 2;
      const statements = this.parseStatementList(')', "Missing closing ')' in subexpression.", 'MissingEndParenthesisInSubexpression', start);
      this.pos++;
      return { kind: 'subexpression', statements, start, end: this.pos };
    }
    this.pos++;
    const name = this.readVariableName();
    if (!name) throw this.fail('Variable reference is not valid.', 'InvalidVariableReference', start, 1, false);
    return { kind: 'variable', name, start, end: this.pos };
  }

  // ---- expressions ----

  parseExpression(): ExpressionAst {
    return this.parseBinary(LEVEL_LOGICAL);
  }

  /** The binary operator at the current position and its precedence level. */
  private peekBinaryOperator(): { op: string; length: number; level: number } | undefined {
    const c = this.peek();
    const n = this.peek(1);
    if (c === '+' && n !== '=' && n !== '+') return { op: '+', length: 1, level: LEVEL_ADDITIVE };
    if (c === '*' && n !== '=') return { op: '*', length: 1, level: LEVEL_MULTIPLICATIVE };
    if (c === '/' && n !== '=') return { op: '/', length: 1, level: LEVEL_MULTIPLICATIVE };
    if (c === '%' && n !== '=') return { op: '%', length: 1, level: LEVEL_MULTIPLICATIVE };
    if (c === '.' && n === '.') return { op: '..', length: 2, level: LEVEL_RANGE };
    if (isDash(c)) {
      if (isLetter(n)) {
        this.pos++;
        const word = this.peekWord();
        this.pos--;
        const lower = word.toLowerCase();
        const length = word.length + 1;
        if (LOGICAL.has(lower)) return { op: '-' + lower, length, level: LEVEL_LOGICAL };
        if (BITWISE.has(lower)) return { op: '-' + lower, length, level: LEVEL_BITWISE };
        if (COMPARISON.has(lower)) return { op: '-' + lower, length, level: LEVEL_COMPARISON };
        if (lower === 'f') return { op: '-f', length, level: LEVEL_FORMAT };
        return undefined;
      }
      if (n === '=' || isDash(n)) return undefined;
      return { op: '-', length: 1, level: LEVEL_ADDITIVE };
    }
    return undefined;
  }

  private parseBinary(level: number): ExpressionAst {
    if (level === LEVEL_ARRAY) return this.parseArrayLiteral();
    let left = this.parseBinary(level + 1);
    for (;;) {
      const save = this.pos;
      this.skipTrivia(false);
      const op = this.peekBinaryOperator();
      if (!op || op.level !== level) {
        this.pos = save;
        return left;
      }
      const opAt = this.pos;
      this.pos += op.length;
      this.skipTrivia(true);
      if (this.atEnd() || this.atCommandEnd()) {
        throw this.fail(`You must provide a value expression following the '${op.op}' operator.`, 'ExpectedValueExpression', opAt, op.length, this.atEnd());
      }
      if (!this.startsOperand()) {
        throw this.fail(`You must provide a value expression following the '${op.op}' operator.`, 'ExpectedValueExpression', opAt, op.length, false);
      }
      const right = this.parseBinary(level + 1);
      left = { kind: 'binary', operator: op.op, left, right, start: left.start, end: right.end };
    }
  }

  private startsOperand(): boolean {
    if (this.startsExpression()) return true;
    const c = this.peek();
    return isDash(c) || c === '+';
  }

  private parseArrayLiteral(): ExpressionAst {
    const first = this.parseUnary();
    if (this.noComma) return first;
    const elements = [first];
    for (;;) {
      const save = this.pos;
      this.skipTrivia(false);
      if (this.peek() !== ',') {
        this.pos = save;
        break;
      }
      const commaAt = this.pos;
      this.pos++;
      this.skipTrivia(true);
      if (this.atEnd() || this.atCommandEnd()) throw this.fail("Missing expression after ','.", 'MissingExpressionAfterToken', commaAt, 1, this.atEnd());
      elements.push(this.parseUnary());
    }
    if (elements.length === 1) return first;
    return { kind: 'array', elements, start: first.start, end: elements[elements.length - 1].end };
  }

  private parseUnary(): ExpressionAst {
    const start = this.pos;
    const c = this.peek();
    const n = this.peek(1);
    const operandAfter = (op: string, length: number): ExpressionAst => {
      this.pos += length;
      this.skipTrivia(false);
      if (this.atEnd() || this.atCommandEnd() || !this.startsOperand()) {
        throw this.fail(`Missing expression after unary operator '${op}'.`, 'MissingExpressionAfterOperator', start, length, this.atEnd());
      }
      return this.parseUnary();
    };
    if (c === '!') {
      const operand = operandAfter('!', 1);
      return { kind: 'unary', operator: '!', operand, start, end: operand.end };
    }
    if (c === ',') {
      const operand = operandAfter(',', 1);
      return { kind: 'unary', operator: ',', operand, start, end: operand.end };
    }
    if (isDash(c) && isLetter(n)) {
      this.pos++;
      const word = this.peekWord().toLowerCase();
      this.pos--;
      if (UNARY_WORDS.has(word)) {
        const operand = operandAfter('-' + word, word.length + 1);
        return { kind: 'unary', operator: ('-' + word) as '-not', operand, start, end: operand.end };
      }
      throw this.unexpectedToken();
    }
    if ((isDash(c) || c === '+') && !isDash(n)) {
      if (isDigit(n) || (n === '.' && isDigit(this.peek(2)))) {
        this.pos++;
        const number = this.parsePostfix(this.parseNumber(start));
        if (number.kind === 'constant') return number;
        return { kind: 'unary', operator: isDash(c) ? '-' : '+', operand: number, start, end: number.end };
      }
      const operand = operandAfter(c!, 1);
      return { kind: 'unary', operator: isDash(c) ? '-' : '+', operand, start, end: operand.end };
    }
    if (c === '[') {
      const typeName = this.readTypeName();
      const typeEnd = this.pos;
      if (this.peek() === ':' && this.peek(1) === ':') {
        return this.parsePostfix({ kind: 'type', typeName, start, end: typeEnd });
      }
      const save = this.pos;
      this.skipTrivia(false);
      if (!this.atEnd() && !this.atCommandEnd() && (this.startsExpression() || (isDash(this.peek()) && isDigit(this.peek(1))))) {
        const operand = this.parseUnary();
        return { kind: 'convert', typeName, operand, start, end: operand.end };
      }
      this.pos = save;
      return { kind: 'type', typeName, start, end: typeEnd };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private readTypeName(): string {
    const start = this.pos;
    this.pos++;
    let depth = 1;
    let name = '';
    while (!this.atEnd()) {
      const c = this.peek()!;
      if (c === '[') depth++;
      if (c === ']') {
        depth--;
        if (depth === 0) break;
      }
      if (isNewline(c)) break;
      name += c;
      this.pos++;
    }
    if (this.peek() !== ']') throw this.fail("Missing ']' at end of type token.", 'EndSquareBracketExpectedAtEndOfType', start, this.pos - start, this.atEnd());
    this.pos++;
    name = name.trim();
    if (!name) throw this.fail("Missing type name after '['.", 'MissingTypename', start, 1, false);
    return name;
  }

  private parseNumber(start: number): ExpressionAst {
    const m = /^(0x[0-9a-f]+|(?:\d+(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?)(l|d)?(kb|mb|gb|tb|pb)?/i.exec(this.src.slice(this.pos));
    if (!m) throw this.unexpectedToken();
    this.pos += m[0].length;
    if (isWordChar(this.peek())) throw this.unexpectedToken();
    const text = this.src.slice(start, this.pos);
    return { kind: 'constant', value: parseNumberLiteral(text)!, start, end: this.pos };
  }

  private parsePrimary(): ExpressionAst {
    const start = this.pos;
    const c = this.peek();
    const n = this.peek(1);
    if (c === '$') return this.parseVariableOrSubexpression();
    if (c === '@' && n === '(') {
      this.pos += 2;
      const saveNoComma = this.noComma;
      this.noComma = false;
      const statements = this.parseStatementList(')', "Missing closing ')' in subexpression.", 'MissingEndParenthesisInSubexpression', start);
      this.noComma = saveNoComma;
      this.pos++;
      return { kind: 'arraySubexpression', statements, start, end: this.pos };
    }
    if (c === '@' && n === '{') return this.parseHashtable();
    if (c === '@' && (isDoubleQuote(n) || isSingleQuote(n))) return this.parseHereString();
    if (c === '(') {
      this.pos++;
      const saveNoComma = this.noComma;
      this.noComma = false;
      this.skipTrivia(true);
      if (this.atEnd()) throw this.fail("Missing closing ')' in expression.", 'MissingEndParenthesisInExpression', start, 1, true);
      if (this.peek() === ')') throw this.fail("An expression was expected after '('.", 'ExpectedExpression', this.pos, 1, false);
      const statement = this.parseStatement();
      this.skipTrivia(true);
      this.noComma = saveNoComma;
      if (this.peek() !== ')') {
        if (this.atEnd()) throw this.fail("Missing closing ')' in expression.", 'MissingEndParenthesisInExpression', start, 1, true);
        throw this.unexpectedToken();
      }
      this.pos++;
      return { kind: 'paren', statement, start, end: this.pos };
    }
    if (c === '{') return this.parseScriptBlock();
    if (isSingleQuote(c)) {
      const value = this.readSingleQuoted();
      return { kind: 'string', value, start, end: this.pos };
    }
    if (isDoubleQuote(c)) {
      const parts = this.readExpandable();
      if (parts.every((p) => typeof p === 'string')) return { kind: 'string', value: parts.join(''), start, end: this.pos };
      return { kind: 'expandable', parts, start, end: this.pos };
    }
    if (isDigit(c) || (c === '.' && isDigit(n))) return this.parseNumber(start);
    if (this.atEnd()) throw this.fail('An expression was expected.', 'ExpectedExpression', start, 1, true);
    throw this.unexpectedToken();
  }

  private parseScriptBlock(params?: ParamAst[]): ScriptBlockAst {
    const start = this.pos;
    this.pos++;
    const saveNoComma = this.noComma;
    this.noComma = false;
    this.skipTrivia(true);
    if (this.peekWord().toLowerCase() === 'param') {
      const save = this.pos;
      this.pos += 5;
      this.skipTrivia(true);
      if (this.peek() === '(') params = this.parseParamList();
      else this.pos = save;
    }
    const named = this.parseNamedBlocks(start);
    const statements = named ? [] : this.parseStatementList('}', "Missing closing '}' in statement block or type definition.", 'MissingEndCurlyBrace', start);
    this.noComma = saveNoComma;
    this.pos++;
    return { kind: 'scriptblock', statements, text: this.src.slice(start + 1, this.pos - 1), params, named, start, end: this.pos };
  }

  /** `begin { } process { } end { }`, when the block is made of them. */
  private parseNamedBlocks(open: number): ScriptBlockAst['named'] {
    const isNamed = (): string | undefined => {
      const word = this.peekWord().toLowerCase();
      if (!['begin', 'process', 'end'].includes(word)) return undefined;
      let p = this.pos + word.length;
      while (isBlank(this.src[p]) || isNewline(this.src[p])) p++;
      return this.src[p] === '{' ? word : undefined;
    };
    this.skipTrivia(true);
    if (!isNamed()) return undefined;
    const named: NonNullable<ScriptBlockAst['named']> = {};
    for (;;) {
      this.skipTrivia(true);
      if (this.peek() === '}') return named;
      if (this.atEnd()) throw this.fail("Missing closing '}' in statement block or type definition.", 'MissingEndCurlyBrace', open, 1, true);
      const word = isNamed();
      if (!word) throw this.unexpectedToken();
      this.pos += word.length;
      const block = this.parseBlock(`Missing statement block after '${word}'.`, 'MissingNamedStatementBlock');
      named[word as 'begin' | 'process' | 'end'] = block.statements;
    }
  }

  /** `( [Parameter(Mandatory)] [string] $Name = 'default', [switch] $Force )`; the position is on `(`. */
  private parseParamList(): ParamAst[] {
    const open = this.pos;
    this.pos++;
    const params: ParamAst[] = [];
    for (;;) {
      this.skipTrivia(true);
      if (this.peek() === ')') {
        this.pos++;
        return params;
      }
      if (this.atEnd()) throw this.fail("Missing ')' in function parameter list.", 'MissingEndParenthesisInFunctionParameterList', open, 1, true);
      const start = this.pos;
      let typeName: string | undefined;
      let mandatory = false;
      let valueFromPipeline = false;
      while (this.peek() === '[') {
        const t = this.readTypeName();
        if (/^(Parameter|Validate|Alias|AllowNull|AllowEmpty|CmdletBinding)/i.test(t)) {
          if (/^Parameter\b/i.test(t) && /Mandatory(\s*=\s*\$true)?\s*[,)]/i.test(t)) mandatory = true;
          if (/^Parameter\b/i.test(t) && /ValueFromPipeline(\s*=\s*\$true)?\s*[,)]/i.test(t)) valueFromPipeline = true;
        } else {
          typeName = t;
        }
        this.skipTrivia(true);
      }
      if (this.peek() !== '$') throw this.fail('Missing variable name in parameter list.', 'InvalidFunctionParameter', this.pos, 1, this.atEnd());
      this.pos++;
      const name = this.readVariableName();
      this.skipTrivia(true);
      let defaultValue: ExpressionAst | undefined;
      if (this.peek() === '=') {
        this.pos++;
        this.skipTrivia(true);
        const save = this.noComma;
        this.noComma = true;
        defaultValue = this.parseExpression();
        this.noComma = save;
        this.skipTrivia(true);
      }
      params.push({ name, typeName, defaultValue, mandatory, valueFromPipeline, start, end: this.pos });
      if (this.peek() === ',') {
        this.pos++;
        continue;
      }
      if (this.peek() !== ')') throw this.fail("Missing ')' in function parameter list.", 'MissingEndParenthesisInFunctionParameterList', open, 1, this.atEnd());
    }
  }

  private parseSwitch(): SwitchAst {
    const start = this.pos;
    this.pos += 6;
    let mode: SwitchAst['mode'] = 'exact';
    let caseSensitive = false;
    for (;;) {
      this.skipTrivia(true);
      if (!isDash(this.peek())) break;
      this.pos++;
      const flag = this.peekWord().toLowerCase();
      this.pos += flag.length;
      if (flag && 'regex'.startsWith(flag)) mode = 'regex';
      else if (flag && 'wildcard'.startsWith(flag)) mode = 'wildcard';
      else if (flag && 'exact'.startsWith(flag)) mode = 'exact';
      else if (flag && 'casesensitive'.startsWith(flag)) caseSensitive = true;
      else throw this.fail(`Invalid switch statement option '-${flag}'.`, 'InvalidSwitchFlag', this.pos - flag.length - 1, flag.length + 1, false);
    }
    if (this.peek() !== '(') throw this.fail("Missing '(' after 'switch' in switch statement.", 'PipelineValueRequired', this.pos, 1, this.atEnd());
    this.pos++;
    this.skipTrivia(true);
    const value = this.parsePipeline();
    this.skipTrivia(true);
    if (this.peek() !== ')') throw this.fail("Missing ')' in switch statement.", 'MissingEndParenthesisInSwitchStatement', this.pos, 1, this.atEnd());
    this.pos++;
    this.skipTrivia(true);
    const open = this.pos;
    if (this.peek() !== '{') throw this.fail('Missing switch statement body.', 'MissingSwitchStatementClause', this.pos, 1, this.atEnd());
    this.pos++;
    const clauses: SwitchAst['clauses'] = [];
    for (;;) {
      this.skipTrivia(true);
      while (this.peek() === ';') {
        this.pos++;
        this.skipTrivia(true);
      }
      if (this.atEnd()) throw this.fail("Missing closing '}' in statement block or type definition.", 'MissingEndCurlyBrace', open, 1, true);
      if (this.peek() === '}') {
        this.pos++;
        break;
      }
      let condition: ExpressionAst | undefined;
      const word = this.peekWord();
      if (word.toLowerCase() === 'default' && /^\s*\{/.test(this.src.slice(this.pos + 7))) {
        this.pos += 7;
      } else if (this.peek() === '{') {
        condition = this.parseScriptBlock();
      } else {
        condition = this.parseArgumentValue();
      }
      const body = this.parseBlock('Missing statement block in switch statement clause.', 'MissingSwitchStatementClause');
      clauses.push({ condition, body });
    }
    return { kind: 'switch', mode, caseSensitive, value, clauses, start, end: this.pos };
  }

  private parseFunction(): FunctionAst {
    const start = this.pos;
    this.pos += 8;
    this.skipTrivia(true);
    let name = '';
    while (!this.atEnd() && !isBlank(this.peek()) && !isNewline(this.peek()) && !'(){};'.includes(this.peek()!)) {
      name += this.peek();
      this.pos++;
    }
    if (!name) throw this.fail('Missing name after function keyword.', 'MissingNameAfterKeyword', start, 8, this.atEnd());
    this.skipTrivia(true);
    let params: ParamAst[] | undefined;
    if (this.peek() === '(') {
      params = this.parseParamList();
      this.skipTrivia(true);
    }
    if (this.peek() !== '{') throw this.fail('Missing function body in function declaration.', 'MissingFunctionBody', this.pos, 1, this.atEnd());
    const body = this.parseScriptBlock(params);
    return { kind: 'function', name, body, start, end: this.pos };
  }

  private parseHashtable(): HashtableAst {
    const start = this.pos;
    this.pos += 2;
    const saveNoComma = this.noComma;
    this.noComma = false;
    const entries: HashtableAst['entries'] = [];
    for (;;) {
      this.skipTrivia(true);
      while (this.peek() === ';') {
        this.pos++;
        this.skipTrivia(true);
      }
      if (this.atEnd()) throw this.fail('The hash literal was incomplete.', 'IncompleteHashLiteral', start, 2, true);
      if (this.peek() === '}') break;
      const keyStart = this.pos;
      let key: ExpressionAst;
      const c = this.peek();
      if (c === '$' || c === '(' || isSingleQuote(c) || isDoubleQuote(c)) {
        key = this.parseUnary();
      } else {
        let text = '';
        while (!this.atEnd() && !isBlank(this.peek()) && !isNewline(this.peek()) && !'=;}'.includes(this.peek()!)) {
          text += this.peek();
          this.pos++;
        }
        if (!text) throw this.unexpectedToken();
        const number = parseNumberLiteral(text);
        key = number !== undefined
          ? { kind: 'constant', value: number, start: keyStart, end: this.pos }
          : { kind: 'string', value: text, start: keyStart, end: this.pos };
      }
      this.skipTrivia(false);
      if (this.peek() !== '=') throw this.fail("Missing '=' operator after key in hash literal.", 'MissingEqualsInHashLiteral', this.pos, 1, this.atEnd());
      this.pos++;
      this.skipTrivia(true);
      if (this.atEnd() || this.peek() === '}' || this.peek() === ';') {
        throw this.fail("Missing statement after '=' in hash literal.", 'MissingStatementInHashLiteral', this.pos, 1, this.atEnd());
      }
      const value = this.parseStatement();
      entries.push({ key, value });
      this.skipTrivia(false);
      const d = this.peek();
      if (this.atEnd()) throw this.fail('The hash literal was incomplete.', 'IncompleteHashLiteral', start, 2, true);
      if (d === ';' || isNewline(d) || d === '}') continue;
      throw this.fail('Missing closing \'}\' in hash literal.', 'MissingEndCurlyBrace', this.pos, 1, false);
    }
    this.pos++;
    this.noComma = saveNoComma;
    return { kind: 'hashtable', entries, start, end: this.pos };
  }

  private parsePostfix(expr: ExpressionAst): ExpressionAst {
    for (;;) {
      const c = this.peek();
      if (c === '[' && expr.kind !== 'type') {
        const at = this.pos;
        this.pos++;
        this.skipTrivia(true);
        if (this.peek() === ']') throw this.fail('Array index expression is missing or not valid.', 'MissingArrayIndexExpression', at, 1, false);
        if (this.atEnd()) throw this.fail("Missing ']' after array index expression.", 'MissingEndSquareBracket', at, 1, true);
        const saveNoComma = this.noComma;
        this.noComma = false;
        const index = this.parseExpression();
        this.noComma = saveNoComma;
        this.skipTrivia(true);
        if (this.peek() !== ']') throw this.fail("Missing ']' after array index expression.", 'MissingEndSquareBracket', at, 1, this.atEnd());
        this.pos++;
        expr = { kind: 'index', target: expr, index, start: expr.start, end: this.pos };
        continue;
      }
      const isStatic = c === ':' && this.peek(1) === ':';
      if ((c === '.' && this.peek(1) !== '.') || isStatic) {
        const at = this.pos;
        this.pos += isStatic ? 2 : 1;
        let member: string | ExpressionAst;
        const m = this.peek();
        if (isWordChar(m)) {
          let name = '';
          while (isWordChar(this.peek())) {
            name += this.peek();
            this.pos++;
          }
          member = name;
        } else if (isSingleQuote(m)) {
          member = this.readSingleQuoted();
        } else if (isDoubleQuote(m) || m === '$' || m === '(') {
          member = this.parsePrimary();
        } else {
          throw this.fail('Missing property name after reference operator.', 'MissingPropertyName', at, 1, this.atEnd());
        }
        if (this.peek() === '(' && typeof member === 'string') {
          const args = this.parseMethodArguments();
          expr = { kind: 'invoke', target: expr, member, isStatic, args, start: expr.start, end: this.pos };
        } else {
          expr = { kind: 'member', target: expr, member, isStatic, start: expr.start, end: this.pos };
        }
        continue;
      }
      return expr;
    }
  }

  private parseMethodArguments(): ExpressionAst[] {
    const open = this.pos;
    this.pos++;
    const args: ExpressionAst[] = [];
    const saveNoComma = this.noComma;
    this.noComma = true;
    try {
      this.skipTrivia(true);
      if (this.peek() === ')') {
        this.pos++;
        return args;
      }
      for (;;) {
        this.skipTrivia(true);
        args.push(this.parseExpression());
        this.skipTrivia(true);
        if (this.peek() === ',') {
          this.pos++;
          continue;
        }
        if (this.peek() === ')') {
          this.pos++;
          return args;
        }
        throw this.fail("Missing ')' in method call.", 'MissingEndParenthesisInMethodCall', open, 1, this.atEnd());
      }
    } finally {
      this.noComma = saveNoComma;
    }
  }
}

/** Parses a whole script; throws ParseError. */
export function parseScript(source: string): ScriptAst {
  return new Parser(source).parseScript();
}

/** Whether the text is an unfinished statement the REPL should keep reading. */
export function isIncompleteInput(source: string): boolean {
  try {
    parseScript(source);
    return false;
  } catch (e) {
    return e instanceof ParseError && e.incomplete;
  }
}
