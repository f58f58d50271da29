// The RFC 2136 + TSIG client (src/acme/challenges/dns-update.ts) against BIND with an hmac-sha512
// key: records added and removed one by one, each refusal by its RCODE and TSIG error, and answers
// that can't be trusted (unsigned, or from a server that never answers) reported as such.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { addTxt, checkUpdateAccess, deleteTxt, type DnsUpdateTarget, findZone, queryTxt } from '../../src/acme/challenges/dns-update.js';
import { InterchangeError } from '../../src/errors/interchange-error.js';
import { startNamed, type Named } from '../support/named.js';

async function refusal(work: Promise<unknown>): Promise<InterchangeError> {
  try {
    await work;
  } catch (e) {
    assert.ok(e instanceof InterchangeError, String(e));
    return e;
  }
  assert.fail('expected a refusal');
}

describe('DNS update with TSIG against BIND (hmac-sha512)', { timeout: 60_000 }, () => {
  let named: Named;
  let target: DnsUpdateTarget;
  before(async () => {
    named = await startNamed({ zone: 'fabrikam.test', keyName: 'acme-512', algorithm: 'hmac-sha512' });
    target = { server: named.server, keyName: named.keyName, algorithm: 'hmac-sha512', secret: Buffer.from(named.secret, 'base64'), zone: null };
  });
  after(async () => {
    await named?.stop();
  });

  it('finds the zone, adds two values at one name and deletes one, leaving the other', async () => {
    const name = '_acme-challenge.deep.sub.fabrikam.test';
    const zone = await findZone(target, name);
    assert.equal(zone, 'fabrikam.test');
    await checkUpdateAccess(target, zone);
    await addTxt(target, zone, name, 'first-digest');
    await addTxt(target, zone, name, 'second-digest');
    assert.deepEqual((await queryTxt(target, name)).sort(), ['first-digest', 'second-digest']);
    await deleteTxt(target, zone, name, 'first-digest');
    assert.deepEqual(await queryTxt(target, name), ['second-digest']);
    await deleteTxt(target, zone, name, 'second-digest');
    assert.deepEqual(await queryTxt(target, name), []);
  });

  it('names NOTAUTH with BADSIG or BADKEY, REFUSED for a key without a grant, NOTZONE for a name outside the zone', async () => {
    const badSig = await refusal(addTxt({ ...target, secret: Buffer.alloc(32, 1) }, 'fabrikam.test', '_acme-challenge.fabrikam.test', 'x'));
    assert.deepEqual([badSig.code, badSig.details?.rcode, badSig.details?.tsigError, badSig.details?.zone], ['ICX_ACME_DNS_UPDATE_REFUSED', 'NOTAUTH', 'BADSIG', 'fabrikam.test']);
    assert.ok(!badSig.message.includes(named.secret));
    const badKey = await refusal(addTxt({ ...target, keyName: 'nobody' }, 'fabrikam.test', '_acme-challenge.fabrikam.test', 'x'));
    assert.deepEqual([badKey.details?.rcode, badKey.details?.tsigError], ['NOTAUTH', 'BADKEY']);
    assert.match(badKey.message, /key nobody/);
    const wrongAlgorithm = await refusal(addTxt({ ...target, algorithm: 'hmac-sha256' }, 'fabrikam.test', '_acme-challenge.fabrikam.test', 'x'));
    assert.equal(wrongAlgorithm.details?.rcode, 'NOTAUTH');
    const noGrant = await refusal(addTxt({ ...target, keyName: named.keyWithoutGrant.name, secret: Buffer.from(named.keyWithoutGrant.secret, 'base64') }, 'fabrikam.test', '_acme-challenge.fabrikam.test', 'x'));
    assert.equal(noGrant.details?.rcode, 'REFUSED');
    assert.match(noGrant.message, /answered REFUSED: the server does not allow this key/);
    const outside = await refusal(addTxt(target, 'fabrikam.test', '_acme-challenge.contoso.test', 'x'));
    assert.equal(outside.details?.rcode, 'NOTZONE');
    const configured = await refusal(findZone({ ...target, zone: 'contoso.test' }, '_acme-challenge.fabrikam.test'));
    assert.match(configured.message, /not in the zone contoso.test/);
    const unknown = await refusal(findZone(target, '_acme-challenge.northwind.test'));
    assert.equal(unknown.code, 'ICX_ACME_DNS_UPDATE_REFUSED');
  });
});

describe('DNS update answers that are not to be trusted', { timeout: 30_000 }, () => {
  const target = (port: number): DnsUpdateTarget => ({ server: `127.0.0.1:${port}`, keyName: 'k', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 7), zone: null, timeoutMs: 1000 });
  const listen = async (onMessage: (socket: net.Socket, message: Buffer) => void) => {
    const server = net.createServer((socket) => {
      let buf = Buffer.alloc(0);
      socket.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) onMessage(socket, buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { server, port: (server.address() as net.AddressInfo).port };
  };

  it('refuses an unsigned NOERROR answer to a signed update', async () => {
    const { server, port } = await listen((socket, m) => {
      // The request's header and zone section echoed back as a NOERROR response, with no TSIG.
      const zoneEnd = 12 + m.subarray(12).indexOf(0) + 1 + 4;
      const answer = Buffer.from(m.subarray(0, zoneEnd));
      answer.writeUInt16BE(0x8000 | (5 << 11), 2);
      for (const count of [6, 8, 10]) answer.writeUInt16BE(0, count);
      const framed = Buffer.alloc(2);
      framed.writeUInt16BE(answer.length);
      socket.end(Buffer.concat([framed, answer]));
    });
    try {
      const e = await refusal(addTxt(target(port), 'contoso.test', '_acme-challenge.contoso.test', 'x'));
      assert.equal(e.code, 'ICX_ACME_DNS_UPDATE_UNVERIFIED');
      assert.match(e.message, /without a TSIG signature/);
    } finally {
      server.close();
    }
  });

  it('reports an answer that is no DNS message', async () => {
    const { server, port } = await listen((socket, m) => {
      const garbage = Buffer.concat([m.subarray(0, 2), Buffer.from([0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x3f])]);
      const framed = Buffer.alloc(2);
      framed.writeUInt16BE(garbage.length);
      socket.end(Buffer.concat([framed, garbage]));
    });
    try {
      const e = await refusal(findZone(target(port), '_acme-challenge.contoso.test'));
      assert.equal(e.code, 'ICX_ACME_DNS_UPDATE_UNVERIFIED');
      assert.match(e.message, /can't be read/);
    } finally {
      server.close();
    }
  });

  it('gives up on a server that never answers within the timeout, and on a closed port', async () => {
    const { server, port } = await listen(() => undefined);
    try {
      const started = Date.now();
      const e = await refusal(addTxt(target(port), 'contoso.test', '_acme-challenge.contoso.test', 'x'));
      assert.equal(e.code, 'ICX_ACME_DNS_UPDATE_UNREACHABLE');
      assert.match(e.message, /did not answer within 1 s/);
      assert.ok(Date.now() - started < 5000);
    } finally {
      server.close();
    }
    const closed = await refusal(findZone(target(port), '_acme-challenge.contoso.test'));
    assert.equal(closed.code, 'ICX_ACME_DNS_UPDATE_UNREACHABLE');
    assert.match(closed.message, /ECONNREFUSED/);
  });
});
