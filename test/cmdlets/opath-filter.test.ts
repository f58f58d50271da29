import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseOPathFilter } from '../../src/cmdlets/framework/opath-filter.js';

const queue = {
  Identity: 'EX01\\contoso.com',
  Status: 'Retry',
  MessageCount: 12,
  NextHopDomain: 'contoso.com',
  LastError: "454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could not be found.",
  NextRetryTime: '2026-11-27T10:00:00.000Z',
  TlsDomain: null,
  Recipients: ['bob@contoso.com', 'eve@fabrikam.com'],
};

const cases: Array<[string, boolean]> = [
  ["Status -eq 'Retry'", true],
  ['Status -eq retry', true],
  ['status -EQ "RETRY"', true],
  ["Status -ne 'Retry'", false],
  ['MessageCount -gt 10', true],
  ['MessageCount -gt 12', false],
  ['MessageCount -ge 12', true],
  ['MessageCount -lt 100 -and Status -eq Retry', true],
  ['MessageCount -lt 100 -and Status -eq Ready', false],
  ["NextHopDomain -like '*.com'", true],
  ["NextHopDomain -notlike 'contoso*'", false],
  ["LastError -like '454 4.7.5*'", true],
  ["NextRetryTime -lt '2026-11-28'", true],
  ["NextRetryTime -gt '2026-11-28T00:00:00Z'", false],
  ['TlsDomain -eq $null', true],
  ['Status -ne $null', true],
  ["Recipients -like '*@fabrikam.com'", true],
  ['{MessageCount -gt 0}', true],
  ['NoSuchProperty -eq 1', false],
];

for (const [filter, expected] of cases) {
  it(`${filter} → ${expected}`, () => assert.equal(parseOPathFilter(filter)(queue), expected));
}

for (const [filter, why] of [
  ['Status', /"the end" after Status is not one of -eq/],
  ['Status -is Retry', /"-is" after Status is not one of/],
  ['Status -eq', /Status -eq has no value/],
  ["Status -eq 'Retry", /unterminated quote/],
  ['Status -eq Retry -or MessageCount -gt 1', /"-or" where -and was expected/],
  ['Status -eq Retry -and', /nothing after -and/],
  ["'Status' -eq Retry", /expected a property name/],
] as const) {
  it(`rejects ${filter}`, () => {
    assert.throws(() => parseOPathFilter(filter), (e: Error & { code?: string }) => e.code === 'ICX_PARAM_INVALID' && why.test(e.message) && e.message.startsWith(`Invalid filter syntax "${filter}"`));
  });
}
