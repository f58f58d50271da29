// The CPU one relayed message costs the logs alone: the 16 rows of its receive session, the 7 of its send session
// (a reused connection), and its RECEIVE and SEND tracking events, written by the real writers to a temp folder.
// node scripts/bench/log-rows.mjs [MESSAGES]   (after npm run build)
import os from 'node:os';
import path from 'node:path';
import { ProtocolLogWriter } from '../../dist/transport/protocol-log/writer.js';
import { ProtocolLogSession } from '../../dist/transport/protocol-log/session.js';
import { MessageTrackingLog } from '../../dist/transport/tracking/message-tracking.js';
import { networkMessageId } from '../../dist/transport/tracking/format.js';
import fs from 'node:fs';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'icx-log-rows-'));
const s = { maxFileSize: 10 * 1024 * 1024, maxDirectorySize: 250 * 1024 * 1024, maxAge: 30 * 86400000 };
const recv = new ProtocolLogWriter({ kind: 'Receive', directory: dir + '/recv', ...s });
const send = new ProtocolLogWriter({ kind: 'Send', directory: dir + '/send', ...s });
const trk = new MessageTrackingLog({ enabled: true, subjectLoggingEnabled: true, directory: dir + '/trk', ...s });
const out = new ProtocolLogSession(send, { connectorId: 'Bench next hop', localEndpoint: '127.0.0.1:40000', remoteEndpoint: '127.0.0.1:14526' });
function one(i) {
  const r = new ProtocolLogSession(recv, { connectorId: 'BENCH\\Bench load', localEndpoint: '127.0.0.1:14525', remoteEndpoint: '127.0.0.1:' + (30000 + (i % 20000)) });
  r.connect();
  r.info('SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAnySender SMTPAcceptAuthoritativeDomainSender AcceptRoutingHeaders', 'Set Session Permissions');
  r.sent('220 relay.bench.invalid Microsoft ESMTP MAIL Service ready at Sun, 6 Dec 2026 18:00:00 +0000');
  r.received('HELO localhost');
  r.sent('250 relay.bench.invalid Hello [127.0.0.1]');
  r.received('MAIL FROM:<wietse@localhost>');
  r.sent('250 2.1.0 Sender OK');
  r.received('RCPT TO:<wietse@bench.invalid>');
  r.sent('250 2.1.5 Recipient OK');
  r.received('DATA');
  r.sent('354 Start mail input; end with <CRLF>.<CRLF>');
  r.info(undefined, 'receiving message');
  r.sent('250 2.6.0 <' + i + '@relay.bench.invalid> [InternalId=' + i + ', Hostname=relay.bench.invalid] 5244 bytes in 0.001, 5000 KB/sec Queued mail for delivery');
  r.received('QUIT');
  r.sent('221 2.0.0 Service closing transmission channel');
  r.disconnect('QuitVerb');
  const at = new Date();
  const nmid = networkMessageId('BENCH', i, at);
  trk.track({ eventId: 'RECEIVE', source: 'SMTP', clientIp: '127.0.0.1', clientHostname: 'localhost', serverIp: '127.0.0.1', serverHostname: 'BENCH', connectorId: 'BENCH\\Bench load', internalMessageId: i, messageId: '<' + i + '@localhost>', networkMessageId: nmid, recipients: ['wietse@bench.invalid'], totalBytes: 5244, subject: 'bench', sender: 'wietse@localhost', returnPath: 'wietse@localhost', messageInfo: '2026-12-06T18:00:00.000Z', directionality: 'Incoming' });
  out.info(undefined, 'sending message with RecordId ' + i + ' and InternetMessageId <' + i + '@localhost>');
  out.sent('MAIL FROM:<wietse@localhost> SIZE=5244');
  out.sent('RCPT TO:<wietse@bench.invalid>');
  out.received('250 2.1.0 Ok');
  out.received('250 2.1.5 Ok');
  out.sent('BDAT 5244 LAST');
  out.received('250 2.0.0 Ok: queued as ' + i);
  trk.track({ eventId: 'SEND', source: 'SMTP', serverIp: '127.0.0.1', serverHostname: '127.0.0.1', clientHostname: 'BENCH', sourceContext: 'ClientSubmitTime:;', connectorId: 'Bench next hop', internalMessageId: i, messageId: '<' + i + '@localhost>', networkMessageId: networkMessageId('BENCH', i, at), recipients: ['wietse@bench.invalid'], recipientStatus: ['250 2.0.0 Ok: queued as ' + i], totalBytes: 5244, subject: 'bench', sender: 'wietse@localhost', returnPath: 'wietse@localhost', messageInfo: '2026-12-06T18:00:00.000Z', directionality: 'Incoming' });
}
const N = +(process.argv[2] ?? 20000);
for (let i = 0; i < 5000; i++) one(i);
await Promise.all([recv.flush(), send.flush(), trk.flush()]);
const c0 = process.cpuUsage(); const t0 = performance.now();
// in bursts, letting the drain run, as in the server
for (let k = 0; k < N / 100; k++) { for (let i = 0; i < 100; i++) one(5000 + k * 100 + i); await new Promise((r) => setImmediate(r)); }
await Promise.all([recv.flush(), send.flush(), trk.flush()]);
const t1 = performance.now(); const c1 = process.cpuUsage(c0);
console.log(`${((t1 - t0) * 1000 / N).toFixed(2)} us/msg wall, ${((c1.user + c1.system) / N).toFixed(2)} us/msg cpu (all threads)`);
await Promise.all([recv.close(), send.close(), trk.close()]);
fs.rmSync(dir, { recursive: true, force: true });
