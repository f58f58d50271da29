import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileWildcard } from '../../src/cmdlets/framework/wildcard.js';
import { parseOPathFilter } from '../../src/cmdlets/framework/opath-filter.js';

test('wildcards match as PowerShell -like does', () => {
  const cases: Array<[pattern: string, text: string, expected: boolean, options?: { caseSensitive?: boolean; shell?: boolean }]> = [
    ['*', '', true],
    ['*', 'anything', true],
    ['', '', true],
    ['', 'a', false],
    ['abc', 'ABC', true],
    ['abc', 'ABC', false, { caseSensitive: true }],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['*@contoso.com', 'ed@contoso.com', true],
    ['*@contoso.com', 'ed@contoso.com.evil', false],
    ['ed@*', 'ed@contoso.com', true],
    ['*con*so*', 'contoso', true],
    ['*ab*ab*', 'abab', true],
    ['*ab*ab*', 'aba', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
    ['*aab', 'aaab', true],
    ['*a*a*b', 'aaxab', true],
    ['Get-?x[ab]', 'get-Qxb', true],
    ['Get-?x[ab]', 'get-Qxc', false],
    ['[a-c]*', 'beta', true],
    ['[!a-c]*', 'beta', false],
    ['`*literal', '*literal', true],
    ['`*literal', 'xliteral', false],
    // OPath: [ and ` are ordinary characters.
    ['[x]*', '[x]yz', true, { shell: false }],
    ['[x]*', 'xyz', false, { shell: false }],
  ];
  for (const [pattern, text, expected, options] of cases) assert.equal(compileWildcard(pattern, options).test(text), expected, `${pattern} -like ${text}`);
});

test('a pattern that makes a backtracking RegExp run for ages is answered at once', () => {
  // As a RegExp (^.*a.*a.*a.*a.*a.*a.*a.*a.*b$), 40 a's took 1 s here and 60 did not finish in 20 s; this is one pass per star.
  const filter = parseOPathFilter("Subject -like '*a*a*a*a*a*a*a*a*b'");
  const subjects = Array.from({ length: 10_000 }, (_, i) => ({ Subject: 'a'.repeat(300) + (i === 9_999 ? 'b' : '') }));
  assert.equal(subjects.filter(filter).length, 1);
});
