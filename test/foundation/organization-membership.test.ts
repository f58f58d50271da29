// Which start makes an organization, which joins one, and which is refused: decided from
// what the data folder and the directory hold, before anything is written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideMembership, type Membership, type MembershipFacts } from '../../src/organization/organization-identity.js';

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
