// The first accepted domain: made at an organization's first start, made once
// for an organization created before accepted domains existed, and never
// made again after an administrator removed every accepted domain.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { test } from 'node:test';
import { openDirectory } from '../../src/directory/open-directory.js';
import { tempDir } from '../support/interchange.js';
import { startTestServer, type TestServer } from '../support/transport-harness.js';

test('the first accepted domain comes from the first server, once: an upgraded organization gets it, a removal is respected', { timeout: 60_000 }, async () => {
  const dataDir = await tempDir('accepted-boot');
  // Closed in finally as well: a failed assertion must not leave a server listening.
  let s: TestServer | undefined;
  try {
    s = await startTestServer({ dataDir, anonymousRelay: false });
    assert.deepEqual((await s.api.ok('Get-AcceptedDomain')).map((d) => [d.DomainName, d.Default]), [['contoso.com', true]]);
    await s.close();
    s = undefined;

    // An organization as an earlier version left it: no accepted domain, no mark that one was ever made.
    let dir = await openDirectory({ dataDir });
    for (const d of await dir.listAcceptedDomains()) await dir.deleteAcceptedDomain(d.guid);
    const org = (await dir.getOrganization())!;
    const { acceptedDomainsInitialized, ...older } = org;
    assert.equal(acceptedDomainsInitialized, true);
    await dir.updateOrganization(older);
    await dir.close();

    s = await startTestServer({ dataDir, anonymousRelay: false });
    assert.deepEqual((await s.api.ok('Get-AcceptedDomain')).map((d) => [d.DomainName, d.Default]), [['contoso.com', true]]);
    // The administrator removes it: the next start does not bring it back.
    await s.api.ok('Remove-AcceptedDomain', { Identity: 'contoso.com' });
    await s.close();
    s = undefined;
    s = await startTestServer({ dataDir, anonymousRelay: false });
    assert.deepEqual(await s.api.ok('Get-AcceptedDomain'), []);
    await s.close();
    s = undefined;

    dir = await openDirectory({ dataDir });
    assert.equal((await dir.getOrganization())!.acceptedDomainsInitialized, true);
    await dir.close();
  } finally {
    await s?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
