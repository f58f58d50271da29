// The evaluator: statements, pipelines, expressions, scopes and errors.
// Exchange cmdlets go to the server through remote.ts; everything here is the
// language itself.

import fs from 'node:fs';
import path from 'node:path';
import type { CmdletInfo } from '../../cmdlets/contract.js';
import type { CommandAst, ExpressionAst, PipelineAst, ScriptAst, StatementAst, StatementBlockAst, Extent, SwitchAst, TryAst } from '../language/ast.js';
import { parseScript } from '../language/parser.js';
import { ParseError } from '../language/parse-error.js';
import type { CmdletCatalog, CmdletHost } from '../host.js';
import type { Builtin, Emit, Processor } from '../builtins/types.js';
import { renderError, renderWarning } from '../formatting/error-view.js';
import { TypeRegistry, formatDefault } from '../formatting/views.js';
import { convertTo } from './convert.js';
import {
  BreakSignal, ContinueSignal, ErrorRecord, ExitSignal, PSRuntimeError, PipelineStoppedError,
  ReturnSignal, ScriptTerminatingError, StatementTerminatingError, type SourceSpan,
} from './errors.js';
import { getMember, invokeMethod, invokeStatic, setMember, type MemberContext } from './members.js';
import { binaryOperation, unaryOperation } from './operators.js';
import {
  allParameters, isCommonParameter, resolveParameter, parameterTypeDisplay,
  type EvaluatedArguments,
} from './parameters.js';
import { resolvePath } from './paths.js';
import { invokeRemote, type PipelineState } from './remote.js';
import { asCmdletError, bindBuiltin, builtinCall } from './local-binding.js';
import { functionCommand } from './functions.js';
import {
  Hashtable, PSObject, ScriptBlock, SwitchValue, TypeLiteral,
  collect, enumerate, toBool, toPSString,
} from './values.js';

/** The console the runtime talks to. */
export interface HostUI {
  write(text: string): void;
  writeError(text: string): void;
  /** Whether a person can answer prompts (a terminal, and not -NonInteractive). */
  canPrompt(): boolean;
  readLine(prompt: string, options?: { secret?: boolean }): Promise<string>;
  /** Console width for table truncation; undefined when output is not a terminal. */
  width(): number | undefined;
  clear?(): void;
  /** A warning line; consoles may color it. Defaults to write(). */
  writeWarning?(text: string): void;
}

export interface RuntimeOptions {
  host: CmdletHost;
  catalog: CmdletCatalog;
  ui: HostUI;
  builtins: Builtin[];
  cwd?: string;
  env?: Record<string, string | undefined>;
}

export class Scope {
  readonly vars = new Map<string, { name: string; value: unknown }>();
  constructor(readonly parent?: Scope) {}
  set(name: string, value: unknown): void {
    this.vars.set(name.toLowerCase(), { name, value });
  }
}

export type CommandEntry =
  | { kind: 'builtin'; name: string; builtin: Builtin }
  | { kind: 'remote'; name: string; info: CmdletInfo };

const ACTIONS = ['SilentlyContinue', 'Stop', 'Continue', 'Inquire', 'Ignore', 'Suspend'];

export class Runtime implements MemberContext {
  readonly ui: HostUI;
  readonly host: CmdletHost;
  readonly catalog: CmdletCatalog;
  readonly types: TypeRegistry;
  readonly builtins: Builtin[];
  readonly cwd: string;
  private readonly env: Record<string, string | undefined>;
  private readonly globalScope = new Scope();
  private scope: Scope = this.globalScope;
  private readonly commands = new Map<string, CommandEntry>();
  /** Functions defined by the session's scripts, by lower-case name. */
  private readonly functions = new Map<string, Builtin>();
  /** Ctrl-C of the current command. */
  signal: AbortSignal = new AbortController().signal;
  /** A terminating error was reported (it decides the exit code of -Command and -File). */
  hadTerminatingError = false;
  private source: { text: string; file?: string } = { text: '' };
  private readonly rawUi: HostUI;
  private pendingOutput: unknown[] = [];
  /** Inside a try block, statement-terminating errors unwind to its catch instead of being reported. */
  private tryDepth = 0;

  constructor(options: RuntimeOptions) {
    const raw = options.ui;
    // Pipeline output waits in Out-Default's buffer (so one type forms one table) until
    // anything else reaches the console; then it is written first, keeping the order.
    this.ui = {
      write: (t) => { this.flushOutput(); raw.write(t); },
      writeError: (t) => { this.flushOutput(); raw.writeError(t); },
      canPrompt: () => raw.canPrompt(),
      readLine: (prompt, o) => { this.flushOutput(); return raw.readLine(prompt, o); },
      width: () => raw.width(),
      clear: raw.clear ? () => { this.flushOutput(); raw.clear!(); } : undefined,
      writeWarning: (t) => { this.flushOutput(); (raw.writeWarning ?? raw.write).call(raw, t); },
    };
    this.rawUi = raw;
    this.host = options.host;
    this.catalog = options.catalog;
    this.types = new TypeRegistry(options.catalog.types);
    this.builtins = options.builtins;
    this.cwd = options.cwd ?? process.cwd();
    this.env = options.env ?? process.env;
    for (const c of options.catalog.cmdlets) this.commands.set(c.name.toLowerCase(), { kind: 'remote', name: c.name, info: c });
    for (const b of options.builtins) {
      this.commands.set(b.info.name.toLowerCase(), { kind: 'builtin', name: b.info.name, builtin: b });
      for (const a of b.aliases ?? []) this.commands.set(a.toLowerCase(), { kind: 'builtin', name: b.info.name, builtin: b });
    }
    const g = (name: string, value: unknown): void => {
      this.globalScope.vars.set(name.toLowerCase(), { name, value });
    };
    g('ConfirmPreference', 'High');
    g('ErrorActionPreference', 'Continue');
    g('WarningPreference', 'Continue');
    g('VerbosePreference', 'SilentlyContinue');
    g('WhatIfPreference', false);
    g('FormatEnumerationLimit', 4);
    g('Error', []);
    g('?', true);
    g('HOME', this.env.HOME ?? '');
    g('PWD', this.cwd);
    g('OFS', ' ');
    g('PSVersionTable', (() => {
      const h = new Hashtable();
      h.set('PSVersion', '5.1');
      h.set('PSEdition', 'Desktop');
      return h;
    })());
  }

  // ---- commands ----

  resolveCommand(name: string): CommandEntry | undefined {
    const fn = this.functions.get(name.toLowerCase());
    if (fn) return { kind: 'builtin', name: fn.info.name, builtin: fn };
    return this.commands.get(name.toLowerCase());
  }

  /** A scope for a function call, below the caller's. */
  childScope(): Scope {
    return new Scope(this.scope);
  }

  async evaluateInScope(scope: Scope, e: ExpressionAst): Promise<unknown> {
    const saved = this.scope;
    this.scope = scope;
    try {
      return await this.evaluate(e);
    } finally {
      this.scope = saved;
    }
  }

  /** Runs statements in the given scope; `return` ends them with its output. */
  async runInScope(scope: Scope, statements: StatementAst[]): Promise<unknown[]> {
    const saved = this.scope;
    this.scope = scope;
    try {
      return await this.runBlock(statements);
    } catch (e) {
      if (e instanceof ReturnSignal) return e.output;
      throw e;
    } finally {
      this.scope = saved;
    }
  }

  commandNames(): string[] {
    const names = new Set<string>([...this.functions.values()].map((f) => f.info.name));
    for (const e of this.commands.values()) names.add(e.name);
    return [...names].sort();
  }

  aliasNames(): Array<{ alias: string; target: string }> {
    return this.builtins.flatMap((b) => (b.aliases ?? []).map((alias) => ({ alias, target: b.info.name })));
  }

  // ---- variables ----

  getVariable(rawName: string): unknown {
    const { name, scope } = splitScope(rawName);
    const lower = name.toLowerCase();
    if (scope === 'env') return this.env[name] ?? this.env[Object.keys(this.env).find((k) => k.toLowerCase() === lower) ?? ''] ?? null;
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    if (lower === 'null') return null;
    const key = lower === 'psitem' ? '_' : lower;
    let s: Scope | undefined = scope === 'global' ? this.globalScope : this.scope;
    while (s) {
      const v = s.vars.get(key);
      if (v) return v.value;
      s = s.parent;
    }
    return null;
  }

  hasVariable(rawName: string): boolean {
    const { name } = splitScope(rawName);
    let s: Scope | undefined = this.scope;
    while (s) {
      if (s.vars.has(name.toLowerCase())) return true;
      s = s.parent;
    }
    return ['true', 'false', 'null'].includes(name.toLowerCase());
  }

  setVariable(rawName: string, value: unknown): void {
    const { name, scope } = splitScope(rawName);
    const lower = name.toLowerCase();
    if (scope === 'env') {
      this.env[name] = value === null || value === undefined ? undefined : toPSString(value);
      return;
    }
    if (lower === 'null') return;
    if (lower === 'true' || lower === 'false') {
      throw new PSRuntimeError(`Cannot overwrite variable ${name} because it is read-only or constant.`, 'VariableNotWritable', 'WriteError', 'SessionStateUnauthorizedAccessException');
    }
    const target = scope === 'global' || scope === 'script' ? this.globalScope : this.scope;
    const existing = target.vars.get(lower);
    if (existing) existing.value = value;
    else target.vars.set(lower, { name, value });
  }

  variables(): Array<{ name: string; value: unknown }> {
    const seen = new Map<string, { name: string; value: unknown }>();
    let s: Scope | undefined = this.scope;
    while (s) {
      for (const [k, v] of s.vars) if (!seen.has(k)) seen.set(k, v);
      s = s.parent;
    }
    for (const n of ['true', 'false', 'null']) seen.set(n, { name: n, value: n === 'true' ? true : n === 'false' ? false : null });
    return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }));
  }

  errorActionPreference(): string {
    return normalizeAction(this.getVariable('ErrorActionPreference')) ?? 'Continue';
  }

  // ---- errors ----

  span(extent: Extent): SourceSpan {
    return { source: this.source.text, file: this.source.file, start: extent.start, end: extent.end };
  }

  private recordError(record: ErrorRecord): void {
    const list = this.getVariable('Error');
    const arr = Array.isArray(list) ? list : [];
    arr.unshift(record);
    if (arr.length > 256) arr.length = 256;
    this.globalScope.vars.set('error', { name: 'Error', value: arr });
  }

  /** Reports an error on the console (unless silenced) and in $Error. */
  reportError(record: ErrorRecord, action: string, terminating: boolean): void {
    this.setVariable('?', false);
    if (action === 'Ignore') return;
    this.recordError(record);
    if (action === 'SilentlyContinue') return;
    if (terminating) this.hadTerminatingError = true;
    this.ui.writeError(renderError(record));
  }

  /** A non-terminating error written by a command. */
  writeNonTerminating(record: ErrorRecord, action: string): void {
    if (action === 'Stop') throw new ScriptTerminatingError(record);
    this.reportError(record, action, false);
  }

  /** A statement-terminating error raised by a command. */
  terminate(record: ErrorRecord, action: string): never {
    if (action === 'Stop' || this.errorActionPreference() === 'Stop') throw new ScriptTerminatingError(record);
    const e = new StatementTerminatingError(record);
    (e as StatementTerminatingError & { action?: string }).action = action;
    throw e;
  }

  writeWarning(message: string, action = 'Continue'): void {
    if (action === 'SilentlyContinue' || action === 'Ignore') return;
    const pref = normalizeAction(this.getVariable('WarningPreference'));
    if (action === 'Continue' && (pref === 'SilentlyContinue' || pref === 'Ignore')) return;
    this.ui.writeWarning!(renderWarning(message));
  }

  // ---- script execution ----

  /** Runs a script; outputs go to the console. Returns the exit code asked for by `exit`, if any. */
  async runScript(text: string, options: { file?: string; signal?: AbortSignal } = {}): Promise<{ exitCode?: number; stopped: boolean }> {
    const saved = this.source;
    this.source = { text, file: options.file };
    if (options.signal) this.signal = options.signal;
    if (options.file) {
      this.setVariable('PSCommandPath', options.file);
      this.setVariable('PSScriptRoot', path.dirname(options.file));
    }
    try {
      let ast: ScriptAst;
      try {
        ast = parseScript(text);
      } catch (e) {
        if (e instanceof ParseError) {
          this.reportParseError(e, text, options.file);
          return { stopped: true };
        }
        throw e;
      }
      try {
        for (const st of ast.statements) {
          await this.executeStatements([st], (out) => this.outDefault(out));
          this.flushOutput();
        }
      } catch (e) {
        if (e instanceof ExitSignal) return { exitCode: e.code, stopped: true };
        if (e instanceof ScriptTerminatingError) {
          this.reportError(e.record, 'Continue', true);
          return { stopped: true };
        }
        if (e instanceof PipelineStoppedError || isAbort(e)) return { stopped: true };
        if (e instanceof BreakSignal || e instanceof ContinueSignal || e instanceof ReturnSignal) {
          if (e instanceof ReturnSignal) this.outDefault(e.output);
          return { stopped: false };
        }
        throw e;
      }
      return { stopped: false };
    } finally {
      this.flushOutput();
      this.source = saved;
    }
  }

  reportParseError(e: ParseError, text: string, file?: string): void {
    const record = new ErrorRecord(e.message, {
      errorId: e.errorId,
      category: 'ParserError',
      exceptionName: 'ParentContainsErrorRecordException',
      span: { source: text, file, start: e.offset, end: e.offset + e.length },
    });
    this.reportError(record, 'Continue', true);
  }

  /** Out-Default: output for the console, formatted when the statement ends or other text is written. */
  outDefault(objects: unknown[]): void {
    this.pendingOutput.push(...objects);
  }

  flushOutput(): void {
    if (this.pendingOutput.length === 0) return;
    const objects = this.pendingOutput;
    this.pendingOutput = [];
    const text = formatDefault(objects, this.types, this.rawUi.width());
    if (text) this.rawUi.write(text);
  }

  /**
   * Runs statements; each statement's output goes to `sink`. A statement-terminating
   * error is reported and the next statement runs, as PowerShell does.
   */
  async executeStatements(statements: StatementAst[], sink: (out: unknown[]) => void): Promise<void> {
    for (const st of statements) {
      this.checkStopped();
      try {
        const out = await this.executeStatement(st, sink);
        this.setVariable('?', true);
        sink(out);
      } catch (e) {
        const record = this.toStatementError(e, st);
        if (!record) throw e;
        if (this.errorActionPreference() === 'Stop' || this.tryDepth > 0) throw new ScriptTerminatingError(record);
        const action = (e as { action?: string }).action ?? 'Continue';
        this.reportError(record, action, true);
      }
    }
  }

  /** The error record of a statement-level failure, or undefined for signals that must unwind further. */
  private toStatementError(e: unknown, st: StatementAst): ErrorRecord | undefined {
    if (e instanceof StatementTerminatingError) return e.record;
    if (e instanceof PSRuntimeError) return e.toRecord(this.span(st));
    if (e instanceof ScriptTerminatingError || e instanceof ExitSignal || e instanceof BreakSignal || e instanceof ContinueSignal || e instanceof ReturnSignal || e instanceof PipelineStoppedError) return undefined;
    if (isAbort(e)) throw new PipelineStoppedError();
    if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string' && String((e as { code: string }).code).startsWith('ICX_')) {
      const ie = e as { code: string; message: string; category?: string };
      return new ErrorRecord(ie.message, {
        errorId: ie.code, category: (ie.category ?? 'NotSpecified') as never, exceptionName: 'InvalidOperationException', span: this.span(st), code: ie.code,
      });
    }
    if (e instanceof Error) {
      return new ErrorRecord(e.message, { errorId: 'System.Exception', category: 'NotSpecified', exceptionName: e.name || 'Exception', span: this.span(st) });
    }
    return undefined;
  }

  checkStopped(): void {
    if (this.signal.aborted) throw new PipelineStoppedError();
  }

  /**
   * Runs one statement and returns its output. With a sink, the statements inside
   * if/foreach/while/try send their output there as each completes, so output and
   * host writes (Write-Host, prompts) appear in the order they happen.
   */
  async executeStatement(st: StatementAst, sink?: (out: unknown[]) => void): Promise<unknown[]> {
    switch (st.kind) {
      case 'pipeline':
        if (sink) {
          await this.streamPipeline(st, async (o) => sink([o]));
          return [];
        }
        return this.runPipeline(st);
      case 'assignment': {
        let value = await this.statementValue(st.value);
        if (st.operator !== '=') {
          const current = await this.evaluate(st.target);
          value = binaryOperation(st.operator[0], current, value);
        }
        await this.assign(st.target, value);
        return [];
      }
      case 'if': {
        for (const clause of st.clauses) {
          if (toBool(await this.statementValue(clause.condition))) return this.block(clause.body.statements, sink);
        }
        return st.elseBody ? this.block(st.elseBody.statements, sink) : [];
      }
      case 'foreach': {
        const items = await this.pipelineItems(st.iterable);
        const out: unknown[] = [];
        for (const item of items) {
          this.checkStopped();
          this.setVariable(st.variable, item);
          if ((await this.loopBody(st.body, sink, out)) === 'break') break;
        }
        return out;
      }
      case 'while': {
        const out: unknown[] = [];
        while (toBool(await this.statementValue(st.condition))) {
          this.checkStopped();
          if ((await this.loopBody(st.body, sink, out)) === 'break') break;
        }
        return out;
      }
      case 'try':
        return this.executeTry(st, sink);
      case 'function':
        this.functions.set(st.name.toLowerCase(), functionCommand(this, st.name, st.body));
        return [];
      case 'switch':
        return this.executeSwitch(st, sink);
      case 'flow': {
        const value = st.value ? await this.statementValue(st.value) : undefined;
        switch (st.keyword) {
          case 'exit': throw new ExitSignal(value === undefined || value === null ? 0 : Math.trunc(Number(toPSString(value)) || 0));
          case 'break': throw new BreakSignal();
          case 'continue': throw new ContinueSignal();
          case 'return': throw new ReturnSignal(value === undefined ? [] : enumerate(value));
          case 'throw': {
            if (value instanceof ErrorRecord) throw new ScriptTerminatingError(value.withSpan(this.span(st)));
            const message = value === undefined || value === null ? 'ScriptHalted' : toPSString(value);
            throw new ScriptTerminatingError(new ErrorRecord(message, {
              errorId: message, category: 'OperationStopped', exceptionName: 'RuntimeException', target: message, targetType: 'String', span: this.span(st),
            }));
          }
        }
      }
    }
    return [];
  }

  private async executeTry(st: TryAst, sink?: (out: unknown[]) => void): Promise<unknown[]> {
    const collected: unknown[] = [];
    const out = sink ? { push: (...o: unknown[]) => sink(o) } : collected;
    try {
      this.tryDepth++;
      try {
        // Output of the statements that completed before the error is kept.
        await this.executeStatements(st.body.statements, (o) => out.push(...o));
      } finally {
        this.tryDepth--;
      }
    } catch (e) {
      let record: ErrorRecord | undefined;
      if (e instanceof ScriptTerminatingError || e instanceof StatementTerminatingError) record = e.record;
      else if (e instanceof PSRuntimeError) record = e.toRecord(this.span(st));
      const clause = record && st.catches.find((c) => c.types.length === 0 || c.types.some((t) => exceptionMatches(record!, t)));
      if (!record || !clause) {
        if (st.finallyBody) out.push(...(await this.runBlock(st.finallyBody.statements)));
        throw e;
      }
      const scope = this.scope;
      const saved = scope.vars.get('_');
      scope.vars.set('_', { name: '_', value: record });
      try {
        out.push(...(await this.runBlock(clause.body.statements)));
      } catch (inner) {
        if (st.finallyBody) out.push(...(await this.runBlock(st.finallyBody.statements)));
        throw inner;
      } finally {
        if (saved) scope.vars.set('_', saved);
        else scope.vars.delete('_');
      }
      if (st.finallyBody) out.push(...(await this.runBlock(st.finallyBody.statements)));
      return collected;
    }
    if (st.finallyBody) out.push(...(await this.runBlock(st.finallyBody.statements)));
    return collected;
  }

  /** Every clause that matches runs, in order; `break` leaves the switch, `continue` takes the next value. */
  private async executeSwitch(st: SwitchAst, sink?: (out: unknown[]) => void): Promise<unknown[]> {
    const value = await this.statementValue(st.value);
    const items = Array.isArray(value) ? value : [value];
    const out: unknown[] = [];
    const scope = this.scope;
    const saved = scope.vars.get('_');
    const matches = async (condition: ExpressionAst, item: unknown): Promise<boolean> => {
      if (condition.kind === 'scriptblock') return toBool(collect(await this.invokeScriptBlock(new ScriptBlock(condition), item, [item])));
      const pattern = await this.evaluate(condition);
      const cs = st.caseSensitive ? 'c' : '';
      if (st.mode === 'regex') return toBool(binaryOperation(`-${cs}match`, toPSString(item), pattern, (m) => this.setVariable('Matches', m)));
      if (st.mode === 'wildcard') return toBool(binaryOperation(`-${cs}like`, toPSString(item), pattern));
      return toBool(binaryOperation(`-${cs}eq`, item, pattern));
    };
    try {
      outer: for (const item of items) {
        let matched = false;
        const run = async (body: StatementBlockAst): Promise<'break' | 'continue' | 'next'> => {
          scope.vars.set('_', { name: '_', value: item });
          return this.loopBody(body, sink, out);
        };
        for (const clause of st.clauses) {
          if (!clause.condition) continue;
          scope.vars.set('_', { name: '_', value: item });
          if (!(await matches(clause.condition, item))) continue;
          matched = true;
          const flow = await run(clause.body);
          if (flow === 'break') break outer;
          if (flow === 'continue') continue outer;
        }
        if (!matched) {
          for (const clause of st.clauses) {
            if (clause.condition) continue;
            if ((await run(clause.body)) === 'break') break outer;
          }
        }
      }
    } finally {
      if (saved) scope.vars.set('_', saved);
      else scope.vars.delete('_');
    }
    return out;
  }

  /** One pass of a loop (or switch) body: its output is appended to `out`; break and continue become the result. */
  private async loopBody(body: StatementBlockAst, sink: ((out: unknown[]) => void) | undefined, out: unknown[]): Promise<'break' | 'continue' | 'next'> {
    try {
      out.push(...(await this.block(body.statements, sink)));
    } catch (e) {
      if (e instanceof BreakSignal) return 'break';
      if (e instanceof ContinueSignal) return 'continue';
      throw e;
    }
    return 'next';
  }

  private async block(statements: StatementAst[], sink?: (out: unknown[]) => void): Promise<unknown[]> {
    if (!sink) return this.runBlock(statements);
    await this.executeStatements(statements, sink);
    return [];
  }

  /** Statements of a block, their outputs collected; statement errors reported in place. */
  async runBlock(statements: StatementAst[]): Promise<unknown[]> {
    const out: unknown[] = [];
    await this.executeStatements(statements, (o) => out.push(...o));
    return out;
  }

  /** The value of a statement used as a value: a lone expression keeps its value, a pipeline's output is collected. */
  async statementValue(st: StatementAst): Promise<unknown> {
    if (st.kind === 'pipeline' && st.elements.length === 1 && st.elements[0].kind === 'commandExpression') {
      return this.evaluate(st.elements[0].expression);
    }
    if (st.kind === 'assignment') {
      await this.executeStatement(st);
      return this.evaluate(st.target);
    }
    return collect(await this.executeStatement(st));
  }

  private async pipelineItems(p: PipelineAst): Promise<unknown[]> {
    if (p.elements.length === 1 && p.elements[0].kind === 'commandExpression') {
      const v = await this.evaluate(p.elements[0].expression);
      if (v === null || v === undefined) return [];
      if (v instanceof Uint8Array) return [...v];
      return enumerate(v);
    }
    return this.runPipeline(p);
  }

  /** A pipeline's output, collected. */
  async runPipeline(p: PipelineAst, input?: unknown[]): Promise<unknown[]> {
    const out: unknown[] = [];
    await this.streamPipeline(p, async (o) => { out.push(o); }, input);
    return out;
  }

  /**
   * Runs a pipeline object by object, as PowerShell does: every command's
   * arguments are evaluated first, then each object flows through the stages
   * before the next one is produced, and stages end in order.
   */
  async streamPipeline(p: PipelineAst, sink: Emit, input?: unknown[]): Promise<void> {
    const state: PipelineState = { yesToAll: false, noToAll: false, continueAnswers: new Map() };
    let finalSink = sink;
    let redirected: unknown[] | undefined;
    if (p.redirection) {
      redirected = [];
      const buffer = redirected;
      finalSink = async (o) => { buffer.push(o); };
    }
    const n = p.elements.length;
    const processors: Array<Processor | undefined> = new Array(n);
    const emitFrom = (i: number): Emit => async (o) => {
      const next = processors[i + 1];
      if (i + 1 < n && next) await next.process(o);
      else await finalSink(o);
    };
    for (let i = 0; i < n; i++) {
      const el = p.elements[i];
      if (el.kind === 'command') processors[i] = await this.prepareCommand(el, i + 1, state, i === 0 && input === undefined, emitFrom(i));
    }
    const first = p.elements[0];
    if (first.kind === 'commandExpression') {
      const value = await this.evaluate(first.expression);
      for (const item of enumerate(value)) {
        this.checkStopped();
        await emitFrom(0)(item);
      }
    } else if (input !== undefined) {
      for (const item of input) {
        this.checkStopped();
        await processors[0]!.process(item);
      }
    }
    for (let i = 0; i < n; i++) {
      this.checkStopped();
      await processors[i]?.end();
    }
    if (redirected && p.redirection) await this.redirectTo(p.redirection, redirected, p);
  }

  private async assign(target: ExpressionAst, value: unknown): Promise<void> {
    switch (target.kind) {
      case 'array': {
        // `$a, $b = 1, 2, 3`: one value each, the last variable takes the rest.
        const items = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
        const n = target.elements.length;
        for (let i = 0; i < n; i++) {
          const v = i < n - 1 ? (items[i] ?? null) : collect(items.slice(n - 1));
          await this.assign(target.elements[i], v);
        }
        return;
      }
      case 'variable':
        this.setVariable(target.name, value);
        return;
      case 'convert':
        if (target.operand.kind === 'variable') {
          this.setVariable(target.operand.name, convertTo(value, target.typeName));
          return;
        }
        break;
      case 'member': {
        const obj = await this.evaluate(target.target);
        const name = typeof target.member === 'string' ? target.member : toPSString(await this.evaluate(target.member));
        setMember(obj, name, value);
        return;
      }
      case 'index': {
        const obj = await this.evaluate(target.target);
        const index = await this.evaluate(target.index);
        if (obj instanceof Hashtable) {
          obj.set(index, value);
          return;
        }
        if (Array.isArray(obj)) {
          let i = Math.trunc(Number(index));
          if (i < 0) i += obj.length;
          if (i < 0 || i >= obj.length) throw new PSRuntimeError('Index was outside the bounds of the array.', 'IndexOutOfRange', 'OperationStopped', 'IndexOutOfRangeException');
          obj[i] = value;
          return;
        }
        throw new PSRuntimeError('Cannot index into a null array.', 'NullArray', 'InvalidOperation', 'RuntimeException');
      }
    }
    throw new PSRuntimeError('The assignment expression is not valid.', 'InvalidLeftHandSide');
  }

  // ---- expressions ----

  async evaluate(e: ExpressionAst): Promise<unknown> {
    try {
      return await this.evaluateInner(e);
    } catch (err) {
      if (err instanceof PSRuntimeError && !(err as { spanned?: boolean }).spanned) {
        const wrapped = new StatementTerminatingError(err.toRecord(this.span(e)));
        throw wrapped;
      }
      throw err;
    }
  }

  private async evaluateInner(e: ExpressionAst): Promise<unknown> {
    switch (e.kind) {
      case 'constant':
        return e.value;
      case 'string':
        return e.value;
      case 'expandable': {
        let s = '';
        for (const part of e.parts) s += typeof part === 'string' ? part : toPSString(await this.evaluate(part));
        return s;
      }
      case 'variable':
        return this.getVariable(e.name);
      case 'member': {
        const name = typeof e.member === 'string' ? e.member : toPSString(await this.evaluate(e.member));
        if (e.isStatic) {
          const type = e.target.kind === 'type' ? e.target.typeName : toPSString(await this.evaluate(e.target));
          return invokeStatic(type, name, undefined, this);
        }
        return getMember(await this.evaluate(e.target), name);
      }
      case 'invoke': {
        const args: unknown[] = [];
        for (const a of e.args) args.push(await this.evaluate(a));
        if (e.isStatic) {
          const type = e.target.kind === 'type' ? e.target.typeName : toPSString(await this.evaluate(e.target));
          return invokeStatic(type, e.member, args, this);
        }
        return invokeMethod(await this.evaluate(e.target), e.member, args, this);
      }
      case 'index':
        return this.index(await this.evaluate(e.target), await this.evaluate(e.index));
      case 'unary':
        return unaryOperation(e.operator, await this.evaluate(e.operand));
      case 'binary': {
        const left = await this.evaluate(e.left);
        if (e.operator === '-and' && !toBool(left)) return false;
        if (e.operator === '-or' && toBool(left)) return true;
        const right = await this.evaluate(e.right);
        return binaryOperation(e.operator, left, right, (m) => this.setVariable('Matches', m));
      }
      case 'array': {
        const out: unknown[] = [];
        for (const el of e.elements) out.push(await this.evaluate(el));
        return out;
      }
      case 'arraySubexpression':
        return this.runBlock(e.statements);
      case 'subexpression':
        return collect(await this.runBlock(e.statements));
      case 'paren':
        return this.statementValue(e.statement);
      case 'hashtable': {
        const h = new Hashtable();
        for (const entry of e.entries) h.set(await this.evaluate(entry.key), await this.statementValue(entry.value));
        return h;
      }
      case 'scriptblock':
        return new ScriptBlock(e);
      case 'type':
        return new TypeLiteral(e.typeName);
      case 'convert':
        return convertTo(await this.evaluate(e.operand), e.typeName);
    }
  }

  private index(target: unknown, index: unknown): unknown {
    if (target === null || target === undefined) {
      throw new PSRuntimeError('Cannot index into a null array.', 'NullArray', 'InvalidOperation', 'RuntimeException');
    }
    if (target instanceof Hashtable) {
      if (Array.isArray(index)) return index.map((k) => target.get(k));
      return target.get(index) ?? null;
    }
    if (target instanceof PSObject) {
      return target.get(toPSString(index)) ?? null;
    }
    const items: unknown[] | string = Array.isArray(target) ? target : target instanceof Uint8Array ? [...target] : typeof target === 'string' ? target : [target];
    const one = (i: unknown): unknown => {
      let n = Math.trunc(Number(i));
      if (Number.isNaN(n)) return null;
      if (n < 0) n += items.length;
      if (n < 0 || n >= items.length) return null;
      return items[n];
    };
    if (Array.isArray(index)) return index.map(one).filter((v) => v !== null);
    return one(index);
  }

  // ---- script blocks ----

  /** Runs a script block in the current scope with `$_` bound (Where-Object, ForEach-Object, .Where()). */
  async invokeScriptBlock(block: ScriptBlock, dollarUnder: unknown, args: unknown[] = []): Promise<unknown[]> {
    const scope = this.scope;
    const hadUnder = scope.vars.get('_');
    const hadArgs = scope.vars.get('args');
    scope.vars.set('_', { name: '_', value: dollarUnder });
    scope.vars.set('args', { name: 'args', value: args });
    try {
      return await this.runBlock(block.ast.statements);
    } catch (e) {
      if (e instanceof ReturnSignal) return e.output;
      throw e;
    } finally {
      if (hadUnder) scope.vars.set('_', hadUnder);
      else scope.vars.delete('_');
      if (hadArgs) scope.vars.set('args', hadArgs);
      else scope.vars.delete('args');
    }
  }

  /** `& { ... }`: a child scope; pipeline input arrives as $input and per object in $_ is not bound. */
  private async callScriptBlock(block: ScriptBlock, args: unknown[], input: unknown[] | undefined): Promise<unknown[]> {
    const saved = this.scope;
    this.scope = new Scope(saved);
    this.scope.vars.set('args', { name: 'args', value: args });
    this.scope.vars.set('input', { name: 'input', value: input ?? [] });
    try {
      return await this.runBlock(block.ast.statements);
    } catch (e) {
      if (e instanceof ReturnSignal) return e.output;
      throw e;
    } finally {
      this.scope = saved;
    }
  }

  private async runScriptFile(path: string, args: unknown[]): Promise<unknown[]> {
    const text = fs.readFileSync(path, 'utf8');
    const savedSource = this.source;
    const savedScope = this.scope;
    this.source = { text, file: path };
    this.scope = new Scope(savedScope);
    this.scope.vars.set('args', { name: 'args', value: args });
    this.scope.set('PSCommandPath', path);
    this.scope.set('PSScriptRoot', dirnameOf(path));
    try {
      let ast: ScriptAst;
      try {
        ast = parseScript(text);
      } catch (e) {
        if (e instanceof ParseError) {
          this.reportParseError(e, text, path);
          throw new ExitSignal(1);
        }
        throw e;
      }
      return await this.runBlock(ast.statements);
    } catch (e) {
      if (e instanceof ReturnSignal) return e.output;
      throw e;
    } finally {
      this.source = savedSource;
      this.scope = savedScope;
    }
  }

  // ---- command invocation ----

  private commandNotFound(name: string, extent: Extent): StatementTerminatingError {
    return new StatementTerminatingError(new ErrorRecord(
      `The term '${name}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.`,
      { errorId: 'CommandNotFoundException', category: 'ObjectNotFound', exceptionName: 'CommandNotFoundException', commandName: name, activity: '', target: name, targetType: 'String', span: this.span(extent) },
    ));
  }

  /** A parameter binding error as PowerShell reports it, attributed to the command. */
  bindingError(commandName: string, message: string, errorId: string, extent: Extent, fullName?: string): StatementTerminatingError {
    return new StatementTerminatingError(new ErrorRecord(message, {
      errorId: `${errorId},${fullName ?? commandName}`, category: 'InvalidArgument', exceptionName: 'ParameterBindingException', commandName, span: this.span(extent),
    }));
  }

  private async argumentValue(e: ExpressionAst): Promise<{ value: unknown; text?: string }> {
    if (e.kind === 'constant' && e.text !== undefined) return { value: e.value, text: e.text };
    return { value: await this.evaluate(e) };
  }

  /** Evaluates a command's arguments; whether `-Name value` takes the value depends on the parameter being a switch. */
  async evaluateArguments(cmd: CommandAst, params: ReturnType<typeof allParameters>, commandName: string): Promise<EvaluatedArguments> {
    const out: EvaluatedArguments = { named: [], positional: [] };
    const els = cmd.elements;
    for (let i = 0; i < els.length; i++) {
      const el = els[i];
      if (el.kind === 'splat') {
        const v = this.getVariable(el.variable);
        if (v instanceof Hashtable) {
          for (const [k, val] of v.entries()) {
            const typed = toPSString(k);
            const res = resolveParameter(params, typed);
            out.named.push({ typed, param: res.param, ambiguous: res.ambiguous, value: val, hasValue: true, extent: el });
          }
        } else {
          for (const item of enumerate(v)) out.positional.push({ value: item, extent: el });
        }
        continue;
      }
      if (el.kind === 'argument') {
        const { value, text } = await this.argumentValue(el.value);
        out.positional.push({ value, text, extent: el });
        continue;
      }
      const res = resolveParameter(params, el.name);
      if (el.argument) {
        const { value, text } = await this.argumentValue(el.argument);
        out.named.push({ typed: el.name, param: res.param, ambiguous: res.ambiguous, value, text, hasValue: true, extent: el });
        continue;
      }
      const isSwitch = res.param?.type === 'SwitchParameter';
      const next = els[i + 1];
      if (!isSwitch && next && next.kind === 'argument') {
        const { value, text } = await this.argumentValue(next.value);
        out.named.push({ typed: el.name, param: res.param, ambiguous: res.ambiguous, value, text, hasValue: true, extent: { start: el.start, end: next.end } });
        i++;
        continue;
      }
      if (res.param && !isSwitch) {
        throw this.bindingError(commandName,
          `Missing an argument for parameter '${res.param.name}'. Specify a parameter of type '${netTypeName(res.param)}' and try again.`,
          'MissingArgument', el);
      }
      out.named.push({ typed: el.name, param: res.param, ambiguous: res.ambiguous, value: true, hasValue: false, extent: el });
    }
    return out;
  }

/** A stage that gathers its input and handles it all at the end. */
  private collecting(handle: (input: unknown[] | undefined) => Promise<unknown[]>, first: boolean, emit: Emit): Processor {
    const buffer: unknown[] = [];
    return {
      process: async (o) => { buffer.push(o); },
      end: async () => {
        for (const o of await handle(first ? undefined : buffer)) await emit(o);
      },
    };
  }

  /** Resolves a command and evaluates its arguments; the returned stage then takes the pipeline's objects. */
  private async prepareCommand(cmd: CommandAst, position: number, state: PipelineState, first: boolean, downstream: Emit): Promise<Processor> {
    let emit = downstream;
    let redirected: unknown[] | undefined;
    if (cmd.redirection) {
      redirected = [];
      const buffer = redirected;
      emit = async (o) => { buffer.push(o); };
    }
    const withRedirect = (p: Processor): Processor => (!redirected ? p : {
      process: (o) => p.process(o),
      end: async () => {
        await p.end();
        await this.redirectTo(cmd.redirection!, redirected!, cmd);
      },
    });

    let entry: CommandEntry | undefined;
    let invocationName: string;
    if (typeof cmd.name === 'string') {
      invocationName = cmd.name;
      entry = this.resolveCommand(cmd.name);
    } else {
      const target = await this.evaluate(cmd.name);
      if (target instanceof ScriptBlock) {
        const args: unknown[] = [];
        for (const el of cmd.elements) if (el.kind === 'argument') args.push(await this.evaluate(el.value));
        return withRedirect(this.collecting((input) => this.callScriptBlock(target, args, input), first, emit));
      }
      invocationName = toPSString(target);
      entry = this.resolveCommand(invocationName);
    }
    if (!entry) {
      if (/\.ps1$/i.test(invocationName)) {
        const file = resolvePath(this.cwd, invocationName);
        if (fs.existsSync(file)) {
          const args: unknown[] = [];
          for (const el of cmd.elements) if (el.kind === 'argument') args.push(await this.evaluate(el.value));
          return withRedirect(this.collecting(() => this.runScriptFile(file, args), first, emit));
        }
      }
      throw this.commandNotFound(invocationName, cmd.nameExtent);
    }
    const info = entry.kind === 'builtin' ? entry.builtin.info : entry.info;
    const params = allParameters(info);
    const args = await this.evaluateArguments(cmd, params, entry.name);

    // Common parameters are the shell's business, never the server's.
    let errorAction: string | undefined;
    let warningAction: string | undefined;
    let whatIf: boolean | undefined;
    let confirm: boolean | undefined;
    let outVariable: string | undefined;
    let errorVariable: string | undefined;
    const named = args.named.filter((a) => {
      if (!a.param || !isCommonParameter(a.param)) return true;
      switch (a.param.name) {
        case 'ErrorAction':
        case 'WarningAction': {
          const action = normalizeAction(a.value);
          if (!action) {
            throw this.bindingError(entry!.name,
              `Cannot bind parameter '${a.param.name}'. Cannot convert value "${toPSString(a.value)}" to type "System.Management.Automation.ActionPreference". Error: "Unable to match the identifier name ${toPSString(a.value)} to a valid enumerator name. Specify one of the following enumerator names and try again:\nSilentlyContinue, Stop, Continue, Inquire, Ignore, Suspend"`,
              'CannotConvertArgumentNoMessage', a.extent);
          }
          if (a.param.name === 'ErrorAction') errorAction = action;
          else warningAction = action;
          break;
        }
        case 'WhatIf': whatIf = toBool(a.value); break;
        case 'Confirm': confirm = toBool(a.value); break;
        case 'OutVariable': outVariable = toPSString(a.value); break;
        case 'ErrorVariable': errorVariable = toPSString(a.value); break;
      }
      return false;
    });
    const effectiveAction = errorAction ?? this.errorActionPreference();
    const errorsBefore = (this.getVariable('Error') as unknown[]).length;
    const outputs: unknown[] = [];
    if (outVariable) {
      const inner = emit;
      emit = async (o) => {
        outputs.push(o);
        await inner(o);
      };
    }
    const finish = (): void => {
      if (outVariable) this.setVariable(outVariable.replace(/^\+/, ''), collect(outputs));
      if (errorVariable) {
        const all = this.getVariable('Error') as unknown[];
        this.setVariable(errorVariable.replace(/^\+/, ''), all.slice(0, Math.max(0, all.length - errorsBefore)));
      }
    };
    const evaluated = { named, positional: args.positional };
    let stage: Processor;
    if (entry.kind === 'builtin') {
      const b = entry.builtin;
      const call = await bindBuiltin(this, b, entry.name, evaluated, first ? undefined : [], cmd, effectiveAction);
      if (b.stream) {
        const inner = b.stream(call, emit);
        stage = {
          process: (o) => asCmdletError(this, call, cmd, () => inner.process(o)),
          end: () => asCmdletError(this, call, cmd, () => inner.end()),
        };
      } else {
        stage = this.collecting((input) => {
          call.input = input;
          return asCmdletError(this, call, cmd, () => b.run(call));
        }, first, emit);
      }
    } else {
      const remote = entry.info;
      const invocation = { position, command: cmd, errorAction: effectiveAction, warningAction: warningAction ?? 'Continue', whatIf, confirm, state };
      // A server cmdlet runs once per pipeline object, or once when it starts the pipeline.
      stage = {
        process: async (o) => {
          for (const out of await invokeRemote(this, remote, evaluated, [o], invocation)) await emit(out);
        },
        end: async () => {
          if (!first) return;
          for (const out of await invokeRemote(this, remote, evaluated, undefined, invocation)) await emit(out);
        },
      };
    }
    return withRedirect({
      process: (o) => stage.process(o),
      end: async () => {
        await stage.end();
        finish();
      },
    });
  }

  /** `> file` and `>> file` are Out-File on the success stream. */
  private async redirectTo(redirection: { append: boolean; target: ExpressionAst }, output: unknown[], extent: Extent): Promise<unknown[]> {
    const target = toPSString(await this.evaluate(redirection.target));
    const outFile = this.resolveCommand('Out-File');
    if (!outFile || outFile.kind !== 'builtin') return output;
    const params = new Map<string, unknown>([['filepath', target], ['append', redirection.append]]);
    await outFile.builtin.run(builtinCall(this, 'Out-File', params, new Map(), output, extent, this.errorActionPreference()));
    return [];
  }

}

function dirnameOf(file: string): string {
  return path.dirname(file);
}

function exceptionMatches(record: ErrorRecord, typeName: string): boolean {
  const short = typeName.split('.').pop()!.toLowerCase();
  const name = record.fields.exceptionName.toLowerCase();
  if (short === 'exception' || short === 'systemexception') return true;
  if (short === 'runtimeexception') return true;
  return name === short;
}

function splitScope(raw: string): { name: string; scope?: string } {
  const i = raw.indexOf(':');
  if (i < 0) return { name: raw };
  const scope = raw.slice(0, i).toLowerCase();
  const name = raw.slice(i + 1);
  if (['global', 'script', 'local', 'private', 'env', 'variable'].includes(scope)) return { name, scope: scope === 'variable' || scope === 'local' || scope === 'private' ? undefined : scope };
  return { name: raw };
}

export function normalizeAction(v: unknown): string | undefined {
  // The ActionPreference enum also binds from its numeric values (-ea 0 is SilentlyContinue).
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < ACTIONS.length) return ACTIONS[v];
  const s = toPSString(v instanceof SwitchValue ? v.isPresent : v).toLowerCase();
  return ACTIONS.find((a) => a.toLowerCase() === s);
}

function isAbort(e: unknown): boolean {
  return !!e && typeof e === 'object' && ((e as Error).name === 'AbortError' || (e as { code?: string }).code === 'ABORT_ERR');
}

function netTypeName(p: { type: string; multiValued?: boolean }): string {
  const map: Record<string, string> = {
    String: 'System.String', Int32: 'System.Int32', Int64: 'System.Int64', Boolean: 'System.Boolean', SecureString: 'System.Security.SecureString',
    'Byte[]': 'System.Byte[]', DateTime: 'System.DateTime', TimeSpan: 'System.TimeSpan', PSCredential: 'System.Management.Automation.PSCredential',
    Enum: 'System.String', Flags: 'System.String', ByteQuantifiedSize: 'Microsoft.Exchange.Data.ByteQuantifiedSize', SwitchParameter: 'System.Management.Automation.SwitchParameter',
    Object: 'System.Object', ScriptBlock: 'System.Management.Automation.ScriptBlock',
  };
  const base = map[p.type] ?? p.type;
  return p.multiValued && p.type !== 'Byte[]' ? base + '[]' : base;
}


export { parameterTypeDisplay, netTypeName };
