// `--directory` is parsed strictly: a guess turned `postgres:/x` into a new embedded organization.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseDirectoryUrl, withPassword } from '../../src/directory/directory-url.js';
import { recordDirectory, recordedDirectory } from '../../src/directory/recorded-directory.js';
import { isInterchangeError } from '../../src/errors/interchange-error.js';
import { tempDir } from '../support/interchange.js';

test('accepted: no URL (the embedded directory) and PostgreSQL URLs with a host', () => {
  const table: Array<[string | undefined, object]> = [
    [undefined, { kind: 'sqlite' }],
    ['postgres://postgres@127.0.0.1:5432/interchange', { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/interchange', withoutPassword: 'postgres://postgres@127.0.0.1:5432/interchange' }],
    ['postgresql://db.contoso.com/interchange', { kind: 'postgres', url: 'postgresql://db.contoso.com/interchange', withoutPassword: 'postgresql://db.contoso.com/interchange' }],
    ['POSTGRES://db/x', { kind: 'postgres', url: 'POSTGRES://db/x', withoutPassword: 'postgres://db/x' }],
    ['postgres://icx:p%40ss@db:5433/x?sslmode=require', { kind: 'postgres', url: 'postgres://icx:p%40ss@db:5433/x?sslmode=require', withoutPassword: 'postgres://icx@db:5433/x?sslmode=require', password: 'p@ss' }],
    ['postgres://icx@db/x?password=s3&sslmode=require', { kind: 'postgres', url: 'postgres://icx@db/x?password=s3&sslmode=require', withoutPassword: 'postgres://icx@db/x?sslmode=require', password: 's3' }],
  ];
  for (const [raw, expected] of table) assert.deepEqual(parseDirectoryUrl(raw), expected, String(raw));
});

test('refused with one line naming the problem and the accepted forms, never the password', () => {
  const table: Array<[string, RegExp]> = [
    ['postgres:/db/interchange', /'postgres:' must be followed by '\/\/' and a host/],
    ['postgres:db', /'postgres:' must be followed by '\/\/' and a host/],
    ['postgres:///interchange', /it names no host/],
    ['postgres://icx:secret@/interchange', /it names no host/],
    ['postgres://:5432/x', /it names no host/],
    ['postgres://db:0/x', /port 0 is not a PostgreSQL port/],
    ['postgres://db:99999/x', /it is not a well-formed URL/],
    ['mysql://db/interchange', /the scheme 'mysql:' is not supported/],
    ['sqlite:/var/lib/interchange/directory.sqlite', /the scheme 'sqlite:' is not supported/],
    ['/var/lib/interchange', /it has no scheme \(a path is not a directory URL\)/],
    ['db.contoso.com/interchange', /it has no scheme/],
    ['', /it is empty/],
  ];
  for (const [raw, problem] of table) {
    let error: unknown;
    try {
      parseDirectoryUrl(raw);
    } catch (e) {
      error = e;
    }
    assert.ok(isInterchangeError(error), `${raw} was accepted`);
    assert.equal(error.code, 'ICX_DIRECTORY_URL_INVALID');
    assert.match(error.message, problem, raw);
    assert.match(error.message, /Use postgres:\/\/user@host\[:port\]\/database \(or postgresql:\/\/…\), or no --directory for the embedded directory in the data folder\.$/);
    assert.doesNotMatch(error.message, /\n|secret/);
  }
});

test('the data folder records the URL without its password, and the password in a file of its own, mode 0600', async () => {
  const dir = await tempDir('directory-record');
  try {
    assert.equal(recordedDirectory(dir), undefined);
    recordDirectory(dir, parseDirectoryUrl(undefined));
    assert.deepEqual(fs.readdirSync(dir), [], 'the embedded directory needs no record');

    const withSecret = 'postgres://icx:p%40ss%3Aw%2Frd@db.contoso.com:5433/interchange?sslmode=require';
    recordDirectory(dir, parseDirectoryUrl(withSecret));
    assert.equal(fs.readFileSync(path.join(dir, 'directory-url'), 'utf8'), 'postgres://icx@db.contoso.com:5433/interchange?sslmode=require\n');
    assert.equal(fs.readFileSync(path.join(dir, 'directory-password'), 'utf8'), 'p@ss:w/rd');
    assert.equal(fs.statSync(path.join(dir, 'directory-password')).mode & 0o777, 0o600);
    const back = recordedDirectory(dir);
    assert.equal(back?.kind, 'postgres');
    assert.equal(back?.kind === 'postgres' && back.password, 'p@ss:w/rd');
    assert.equal(back?.kind === 'postgres' && new URL(back.url).password, 'p%40ss%3Aw%2Frd');

    // The next start without a password takes the old one away.
    recordDirectory(dir, parseDirectoryUrl('postgres://icx@db2/interchange'));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['directory-url']);
    assert.equal(recordedDirectory(dir)?.kind === 'postgres' && (recordedDirectory(dir) as { url: string }).url, 'postgres://icx@db2/interchange');
    assert.equal(withPassword('postgres://a@h/x', 'p w'), 'postgres://a:p%20w@h/x');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
