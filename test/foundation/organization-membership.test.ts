// Which start makes an organization, which joins one, and which is refused: decided from
// what the data folder and the directory hold, before anything is written.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openSqliteDirectory } from '../../src/directory/sqlite/open-sqlite-directory.js';
import { decideMembership, joinOrganization, type Membership, type MembershipFacts } from '../../src/organization/organization-identity.js';
import { tempDir } from '../support/interchange.js';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';

test('only an empty folder and an empty directory make an organization; a folder is never moved to another one', () => {
  const table: Array<[string, MembershipFacts, Membership]> = [
    ['first start of a new organization', { hasKey: false, hasAdminToken: false }, { action: 'create' }],
    ['a joining host with a mistyped or forgotten --directory (copied key)', { hasKey: true, hasAdminToken: true }, { action: 'refuse', reason: 'copied-folder' }],
    ['a joining host with only the token copied, and no directory', { hasKey: false, hasAdminToken: true }, { action: 'refuse', reason: 'copied-folder' }],
    ['a folder of organization A started without its directory', { folderOrganization: A, hasKey: true, hasAdminToken: true }, { action: 'refuse', reason: 'folder-of-another-directory' }],
    ['a later start', { directoryOrganization: A, folderOrganization: A, hasKey: true, hasAdminToken: true }, { action: 'join', adopt: false }],
    ['the first start of a joining host', { directoryOrganization: A, hasKey: true, hasAdminToken: true }, { action: 'join', adopt: true }],
    ['a data folder from before organization records', { directoryOrganization: A, hasKey: true, hasAdminToken: true }, { action: 'join', adopt: true }],
    ['a joining host without keyvault.key', { directoryOrganization: A, hasKey: false, hasAdminToken: true }, { action: 'refuse', reason: 'no-key' }],
    ['a folder of organization A at the directory of B', { directoryOrganization: B, folderOrganization: A, hasKey: true, hasAdminToken: true }, { action: 'refuse', reason: 'foreign-folder' }],
    ['a folder of A at B, without a key: the organization is named first', { directoryOrganization: B, folderOrganization: A, hasKey: false, hasAdminToken: false }, { action: 'refuse', reason: 'foreign-folder' }],
  ];
  for (const [what, facts, expected] of table) assert.deepEqual(decideMembership(facts), expected, what);
});

test('each refusal carries its code, and a folder joined once keeps its organization', async () => {
  const [first, other] = [await tempDir('membership-first'), await tempDir('membership-other')];
  const directory = await openSqliteDirectory(path.join(first, 'directory.sqlite'));
  const join = (dataDir: string) => joinOrganization({ directory, dataDir, directoryName: 'the test directory', clock: () => new Date() });
  const codeOf = (p: Promise<unknown>) => p.then(() => 'started', (e) => (e as { code: string }).code);
  try {
    const { organization } = await join(first);
    assert.equal(fs.readFileSync(path.join(first, 'organization'), 'utf8'), `${organization.guid}\n`);
    assert.equal((await join(first)).organization.guid, organization.guid);

    assert.equal(await codeOf(join(other)), 'ICX_KEYVAULT_MISSING');
    assert.deepEqual(fs.readdirSync(other), []);
    fs.writeFileSync(path.join(other, 'keyvault.key'), crypto.randomBytes(32));
    assert.equal(await codeOf(join(other)), 'ICX_KEYVAULT_MISMATCH');
    fs.writeFileSync(path.join(other, 'keyvault.key'), crypto.randomBytes(31));
    assert.equal(await codeOf(join(other)), 'ICX_KEYVAULT_MISMATCH');
    fs.copyFileSync(path.join(first, 'keyvault.key'), path.join(other, 'keyvault.key'));
    fs.writeFileSync(path.join(other, 'organization'), `${crypto.randomUUID()}\n`);
    assert.equal(await codeOf(join(other)), 'ICX_ORGANIZATION_MISMATCH');
    fs.rmSync(path.join(other, 'organization'));
    assert.equal(await codeOf(join(other)), 'started');
    assert.equal(fs.readFileSync(path.join(other, 'organization'), 'utf8'), `${organization.guid}\n`);
  } finally {
    await directory.close();
    for (const d of [first, other]) fs.rmSync(d, { recursive: true, force: true });
  }
});
