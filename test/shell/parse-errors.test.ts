// Syntax errors: PowerShell's error ids and messages, the column they point at,
// and whether the REPL should read another line instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIncompleteInput, parseScript } from '../../src/shell/language/parser.js';
import { ParseError } from '../../src/shell/language/parse-error.js';
import { run } from './harness.js';

function parseError(source: string): ParseError {
  try {
    parseScript(source);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  assert.fail(`expected a parse error for ${JSON.stringify(source)}`);
}

const ERRORS: Array<[string, string, string, boolean, number]> = [
  // source, error id, message, incomplete, offset
  ['Write-Output "abc', 'TerminatorExpectedAtEndOfString', 'The string is missing the terminator: ".', true, 13],
  ["Write-Output 'abc", 'TerminatorExpectedAtEndOfString', "The string is missing the terminator: '.", true, 13],
  ['Get-ExchangeCertificate |', 'EmptyPipeElement', 'An empty pipe element is not allowed.', true, 24],
  ['Get-ExchangeCertificate | | Format-List', 'EmptyPipeElement', 'An empty pipe element is not allowed.', false, 24],
  ['if ($true) {', 'MissingEndCurlyBrace', "Missing closing '}' in statement block or type definition.", true, 11],
  ['(1 + 2', 'MissingEndParenthesisInExpression', "Missing closing ')' in expression.", true, 0],
  ['1 +', 'ExpectedValueExpression', "You must provide a value expression following the '+' operator.", true, 2],
  ['$x =', 'ExpectedValueExpression', "You must provide a value expression on the right-hand side of the '=' operator.", true, 3],
  ['@{a=1', 'IncompleteHashLiteral', 'The hash literal was incomplete.', true, 0],
  ["$a -eq Valid", 'ExpectedValueExpression', "You must provide a value expression following the '-eq' operator.", false, 3],
  ['1 -foo 2', 'UnexpectedToken', "Unexpected token '-foo' in expression or statement.", false, 2],
  ['Remove-ExchangeCertificate -Confirm:', 'MissingArgument', "Missing an argument for parameter 'Confirm'.", true, 27],
  ['$a[', 'MissingEndSquareBracket', "Missing ']' after array index expression.", true, 2],
  ['"$(1 + "', 'TerminatorExpectedAtEndOfString', 'The string is missing the terminator: ".', true, 7],
  ['foreach ($x 1..3) {}', 'MissingInInForeach', "Missing 'in' after variable in foreach loop.", false, 12],
  ['if 1 {}', 'MissingOpenParenthesisInIfStatement', "Missing '(' after 'if' in if statement.", false, 3],
  ['[int', 'EndSquareBracketExpectedAtEndOfType', "Missing ']' at end of type token.", true, 0],
  ['1 | 2', 'ExpressionsMustBeFirstInPipeline', 'Expressions are only allowed as the first element of a pipeline.', false, 4],
  ['Get-Date )', 'UnexpectedToken', "Unexpected token ')' in expression or statement.", false, 9],
  ["'a'.Substring(1", 'MissingEndParenthesisInMethodCall', "Missing ')' in method call.", true, 13],
  ['Write-Output <i>', 'RedirectionNotSupported', "The '<' operator is reserved for future use.", false, 13],
  ['3 = 4', 'InvalidLeftHandSide', 'The assignment expression is not valid. The input to an assignment operator must be an object that is able to accept assignments, such as a variable or a property.', false, 0],
  ['<# open comment', 'MissingEndOfBlockComment', "Missing closing '#>' in block comment.", true, 0],
  ['@"\nno end', 'TerminatorExpectedAtEndOfString', 'The string is missing the terminator: "@.', true, 0],
  ['$x.', 'MissingPropertyName', 'Missing property name after reference operator.', true, 2],
  ['function F(', 'MissingEndParenthesisInFunctionParameterList', "Missing ')' in function parameter list.", true, 10],
  ['function F', 'MissingFunctionBody', 'Missing function body in function declaration.', true, 10],
  ['function F { process {', 'MissingEndCurlyBrace', "Missing closing '}' in statement block or type definition.", true, 21],
];

for (const [source, id, message, incomplete, offset] of ERRORS) {
  test(`parse error ${id}: ${JSON.stringify(source)}`, () => {
    const e = parseError(source);
    assert.equal(e.errorId, id);
    assert.equal(e.message, message);
    assert.equal(e.incomplete, incomplete);
    assert.equal(e.offset, offset);
    assert.equal(isIncompleteInput(source), incomplete);
  });
}

test('a trailing backtick continues the line', () => {
  assert.equal(isIncompleteInput('Get-ExchangeCertificate `'), true);
  assert.equal(isIncompleteInput('Get-ExchangeCertificate `\n| Format-List'), false);
});

test('complete input is not incomplete', () => {
  for (const s of ['Get-ExchangeCertificate', 'if ($true) { 1 }', '"a"', '@{a=1}', '']) assert.equal(isIncompleteInput(s), false, s);
});

test('a parse error is rendered as PowerShell does and nothing runs', async () => {
  const r = await run('Stop-Service MSExchangeTransport -Confirm:$false\nWrite-Output "unterminated');
  assert.equal(r.host.requests.length, 0, 'no statement of a script with a syntax error runs');
  assert.equal(r.err, [
    'At line:2 char:14',
    '+ Write-Output "unterminated',
    '+              ~~~~~~~~~~~~~',
    'The string is missing the terminator: ".',
    '    + CategoryInfo          : ParserError: (:) [], ParentContainsErrorRecordException',
    '    + FullyQualifiedErrorId : TerminatorExpectedAtEndOfString',
    '',
  ].join('\n'));
  assert.equal(r.rt.hadTerminatingError, true);
});

test('a parse error in a -File script names the file', async () => {
  const r = await run('$x = (1 +', { file: '/tmp/script.ps1' });
  assert.match(r.err, /^At \/tmp\/script\.ps1:1 char:9\n/);
});

test("the article's two statements on one line are one command, as in PowerShell", async () => {
  // `$cert = Get-ExchangeCertificate -Thumbprint X $tlscertificatename = "..."` parses in PowerShell as a
  // single command whose extra arguments fail to bind; the shell must not guess a statement break.
  const ast = parseScript('$cert = Get-ExchangeCertificate -Thumbprint X $tlscertificatename = "<i>$($cert.Issuer)<s>$($cert.Subject)"');
  assert.equal(ast.statements.length, 1);
  const r = await run('$cert = Get-ExchangeCertificate -Thumbprint FFEE0011223344556677889900AABBCCDDEEFF00 $tlscertificatename = "<i>$($cert.Issuer)<s>$($cert.Subject)"');
  assert.match(r.err, /ICX_PARAM_POSITIONAL,Get-ExchangeCertificate/);
});

test('random token soup either parses or fails with a ParseError, promptly (seeded)', () => {
  const pieces = ['$', '(', ')', '{', '}', '[', ']', '@', '"', "'", '`', '|', ';', ',', '-', '+', '=', '.', '..', '::', '#', '<#', '#>', '\n', ' ', 'a', 'Get-X', '-eq', '-not', '!', '1', '2.5', 'if', 'else', 'foreach', 'in', 'try', 'catch', 'finally', '>', '<', '&', '%', '?', '$x', '$(', '@(', '@{', '@"\n', '"@', '[int]', '-Name', ':', 'exit', '++', '\u2013', '\u201c', 'function', 'switch', 'param', 'process', 'default', '-regex'];
  let seed = 7;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const started = Date.now();
  for (let i = 0; i < 5000; i++) {
    let s = '';
    for (let j = 0, n = 1 + Math.floor(rnd() * 12); j < n; j++) s += pieces[Math.floor(rnd() * pieces.length)];
    try {
      parseScript(s);
    } catch (e) {
      assert.ok(e instanceof ParseError, `${JSON.stringify(s)} threw ${(e as Error).message}`);
    }
  }
  assert.ok(Date.now() - started < 10000);
});
