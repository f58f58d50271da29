// Functions defined in scripts: `function Name($a, [switch]$Force) { ... }`
// with param() blocks, defaults, begin/process/end. A function is a local
// cmdlet, so binding, prefixes, -ErrorAction and completion work alike.

import type { ScriptBlockAst, StatementAst } from '../language/ast.js';
import type { Builtin, Emit } from '../builtins/types.js';
import { convertTo } from './convert.js';
import type { Runtime } from './evaluator.js';
import type { LocalParameterInfo } from './parameters.js';
import { toBool } from './values.js';

function isSwitch(typeName: string | undefined): boolean {
  return !!typeName && /^(switch|System\.Management\.Automation\.SwitchParameter)$/i.test(typeName);
}

export function functionCommand(rt: Runtime, name: string, body: ScriptBlockAst): Builtin {
  const declared = body.params ?? [];
  let position = 0;
  const parameters: LocalParameterInfo[] = declared.map((p) => ({
    name: p.name,
    type: isSwitch(p.typeName) ? 'SwitchParameter' : 'String',
    position: isSwitch(p.typeName) ? undefined : position++,
    mandatory: p.mandatory || undefined,
    valueFromPipeline: p.valueFromPipeline || undefined,
    description: '',
  }));
  const fn: Builtin = {
    info: {
      name, synopsis: `The function ${name}.`, parameters, parameterSets: ['Default'], defaultParameterSet: 'Default',
      role: 'Function', changesState: false, confirmImpact: 'None', examples: [], extraArguments: true,
    },
    run: async (call) => {
      const out: unknown[] = [];
      const p = fn.stream!(call, async (o) => { out.push(o); });
      for (const o of call.input ?? []) await p.process(o);
      await p.end();
      return out;
    },
    stream(call, emit: Emit) {
      const scope = rt.childScope();
      const emitAll = async (items: unknown[]): Promise<void> => {
        for (const o of items) await emit(o);
      };
      const run = (statements: StatementAst[] | undefined): Promise<unknown[]> => (statements ? rt.runInScope(scope, statements) : Promise.resolve([]));
      const input: unknown[] = [];
      let started = false;
      const start = async (): Promise<void> => {
        if (started) return;
        started = true;
        for (const p of declared) {
          let value: unknown;
          if (call.params.has(p.name)) value = call.params.get(p.name);
          else if (p.defaultValue) value = await rt.evaluateInScope(scope, p.defaultValue);
          else value = isSwitch(p.typeName) ? false : null;
          if (isSwitch(p.typeName)) value = toBool(value);
          else if (p.typeName && value !== null) value = convertTo(value, p.typeName);
          scope.set(p.name, value);
        }
        scope.set('args', call.params.get('$args') ?? []);
        await emitAll(await run(body.named?.begin));
      };
      return {
        process: async (o) => {
          await start();
          for (const p of declared) if (p.valueFromPipeline) scope.set(p.name, o);
          if (body.named?.process) {
            scope.set('_', o);
            await emitAll(await run(body.named.process));
          } else {
            input.push(o);
          }
        },
        end: async () => {
          await start();
          if (body.named?.process && call.input === undefined) {
            scope.set('_', null);
            await emitAll(await run(body.named.process));
          }
          scope.set('input', input);
          await emitAll(await run(body.named ? body.named.end : body.statements));
        },
      };
    },
  };
  return fn;
}
