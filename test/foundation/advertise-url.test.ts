import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAdvertiseUrl } from '../../src/server/advertise-url.js';
import { InterchangeError } from '../../src/errors/interchange-error.js';

test('--advertise-url: accepted forms are written one way', () => {
  const cases: Array<[string, 'http' | 'https', string]> = [
    ['https://ex01.contoso.com:8443', 'https', 'https://ex01.contoso.com:8443'],
    ['https://ex01.contoso.com:8443/', 'https', 'https://ex01.contoso.com:8443'],
    ['https://EX01.Contoso.com', 'https', 'https://ex01.contoso.com'],
    ['http://127.0.0.1:8080', 'http', 'http://127.0.0.1:8080'],
    ['https://[2001:db8::5]:8443', 'https', 'https://[2001:db8::5]:8443'],
  ];
  for (const [text, scheme, expected] of cases) assert.equal(parseAdvertiseUrl(text, scheme), expected, text);
});

test('--advertise-url: refused with the reason named', () => {
  const cases: Array<[string, 'http' | 'https', RegExp]> = [
    ['ex01.contoso.com:8443', 'https', /must begin with https:\/\/ or http:\/\//],
    ['not a url', 'https', /is not a URL/],
    ['http://ex01.contoso.com:8080', 'https', /says http, but this server serves its admin API over https/],
    ['https://ex01.contoso.com:8443', 'http', /says https, but this server serves its admin API over http .*--admin-https/],
    ['https://0.0.0.0:8443', 'https', /wildcard/],
    ['https://[::]:8443', 'https', /wildcard/],
    ['https://ex01.contoso.com:8443/admin', 'https', /no path/],
    ['https://admin:secret@ex01.contoso.com', 'https', /user name or password/],
    ['ftp://ex01.contoso.com', 'https', /must begin with https:\/\//],
  ];
  for (const [text, scheme, message] of cases) {
    assert.throws(
      () => parseAdvertiseUrl(text, scheme),
      (e: unknown) => e instanceof InterchangeError && e.code === 'ICX_ADVERTISE_URL_INVALID' && message.test(e.message),
      text,
    );
  }
});
