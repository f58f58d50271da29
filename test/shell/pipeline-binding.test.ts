// PowerShell's pipeline parameter binding as a pure decision: which parameter
// an input object binds to, given the cmdlet's declaration and what the user
// already bound. Order: ByValue without coercion, ByPropertyName, ByValue with
// coercion; within each, the parameter sets still possible, default set first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CmdletInfo, ParameterInfo } from '../../src/cmdlets/contract.js';
import { bindPipelineObject } from '../../src/shell/runtime/remote.js';
import { PSObject } from '../../src/shell/runtime/values.js';

const p = (name: string, extra: Partial<ParameterInfo> = {}): ParameterInfo => ({ name, type: 'String', description: '', ...extra });

function cmdlet(parameters: ParameterInfo[], sets = ['Default'], defaultSet = sets[0]): CmdletInfo {
  return { name: 'X', synopsis: '', parameters, parameterSets: sets, defaultParameterSet: defaultSet, role: '', changesState: true, confirmImpact: 'High', examples: [] };
}

// As the server declares Remove-ExchangeCertificate: Thumbprint by value, Identity by property name.
const removeCert = cmdlet([
  p('Thumbprint', { sets: ['Thumbprint'], position: 0, mandatory: ['Thumbprint'], valueFromPipeline: true }),
  p('Identity', { sets: ['Identity'], position: 0, mandatory: ['Identity'], valueFromPipelineByPropertyName: true }),
  p('Server', { sets: ['Thumbprint'] }),
], ['Thumbprint', 'Identity']);

const cert = new PSObject('ExchangeCertificate', [['Thumbprint', 'AB12'], ['Identity', 'EX01\\AB12'], ['Subject', 'CN=x']]);

const CASES: Array<{ name: string; info: CmdletInfo; input: unknown; user?: string[]; positional?: number; expected: Record<string, unknown> }> = [
  { name: 'a certificate object binds Identity by property name (Thumbprint takes only strings by value)', info: removeCert, input: cert, expected: { Identity: 'EX01\\AB12' } },
  { name: 'a string binds Thumbprint by value', info: removeCert, input: 'AB12', expected: { Thumbprint: 'AB12' } },
  {
    name: 'with -Server given (Thumbprint set only) the object binds Thumbprint with conversion',
    info: removeCert, input: cert, user: ['Server'], expected: { Thumbprint: cert },
  },
  {
    name: 'a parameter the user bound is never rebound',
    info: cmdlet([p('Identity', { position: 0, valueFromPipeline: true, valueFromPipelineByPropertyName: true }), p('TlsCertificateName', { valueFromPipelineByPropertyName: true })]),
    input: new PSObject('SendConnector', [['Identity', 'Contoso'], ['TlsCertificateName', '<I>a<S>b']]), user: ['TlsCertificateName'], expected: { Identity: 'Contoso' },
  },
  {
    name: 'several properties bind at once by name',
    info: cmdlet([p('Name', { valueFromPipelineByPropertyName: true }), p('Server', { valueFromPipelineByPropertyName: true }), p('Other')]),
    input: new PSObject('T', [['Name', 'n'], ['Server', 's'], ['Other', 'o']]), expected: { Name: 'n', Server: 's' },
  },
  {
    name: 'an alias matches a property',
    info: cmdlet([p('Identity', { aliases: ['Name'], valueFromPipelineByPropertyName: true })]),
    input: new PSObject('ServiceController', [['Name', 'MSExchangeTransport']]), expected: { Identity: 'MSExchangeTransport' },
  },
  {
    name: 'a positional argument takes the first positional parameter first',
    info: cmdlet([p('Identity', { position: 0, valueFromPipeline: true }), p('Value', { position: 1, valueFromPipeline: true })]),
    input: 'x', positional: 1, expected: { Value: 'x' },
  },
  {
    name: 'a number binds an Int32 parameter by value before a String one by conversion',
    info: cmdlet([p('Name', { valueFromPipeline: true }), p('Count', { type: 'Int32', valueFromPipeline: true })]),
    input: 5, expected: { Count: 5 },
  },
  { name: 'nothing binds when no parameter takes pipeline input', info: cmdlet([p('Name')]), input: 'x', expected: {} },
];

for (const c of CASES) {
  test(c.name, () => {
    const user = (c.user ?? []).map((n) => c.info.parameters.find((x) => x.name === n)!);
    assert.deepEqual(bindPipelineObject(c.info, c.input, user, c.positional ?? 0), c.expected);
  });
}
