// Exchange has one Auth certificate for the organization, copied to every server. Two servers set up at the
// same moment in a new organization each looked for it, found none and made their own; the look and the
// install now happen under the directory lock.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { AdminApi, startServerProcess, tempDir, type ServerProcess } from '../support/interchange.js';

const AUTH = 'CN=Microsoft Exchange Server Auth Certificate';

test('servers set up at the same moment share one Auth certificate', { timeout: 180_000 }, async () => {
  const dataDir = await tempDir('setup-auth');
  const names = ['EX01', 'EX02', 'EX03'];
  const starts = await Promise.allSettled(names.map((serverName) => startServerProcess({ dataDir, serverName })));
  const started = starts.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    for (const s of starts) if (s.status === 'rejected') throw s.reason;
    const thumbprints = new Set<string>();
    for (const s of started as ServerProcess[]) {
      const certs = await new AdminApi(s.url, s.token).ok('Get-ExchangeCertificate');
      const auth = certs.filter((c) => c.Subject === AUTH);
      assert.equal(auth.length, 1, `${s.name} has one Auth certificate`);
      thumbprints.add(auth[0].Thumbprint);
    }
    assert.equal(thumbprints.size, 1, `one Auth certificate for the organization, not ${[...thumbprints].join(', ')}`);
  } finally {
    for (const s of started) await s.stop();
    await fs.promises.rm(dataDir, { recursive: true, force: true });
  }
});
