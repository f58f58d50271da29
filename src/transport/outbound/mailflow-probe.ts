// Test-Mailflow between two servers of the organization: the source server
// sends a test message over the path its real mail to the target takes (SMTP
// to the target's Default Frontend connector, STARTTLS, both servers
// authenticated by their internal transport certificates), and the target
// takes it as delivered to itself once accepted. Interchange has no mailbox
// for the message to land in, as Exchange's system mailbox would: the test
// ends at the target's 250, which Interchange gives only once its transport
// has taken the message whole.
import { randomUUID } from 'node:crypto';
import type { RedirectTarget } from '../routing/redirect.js';
import { ProtocolLogSession, type ProtocolLogWriter } from '../protocol-log/index.js';
import type { TransportSnapshot } from '../service/config-snapshot.js';
import { intraOrganizationRuntime, intraOrganizationTarget } from './intra-organization.js';
import { DeliveryError, SmtpClientConnection } from './smtp-client.js';

/** The local part the target takes as its own (`TestMailflow@ex02.contoso.com`), from another server of the organization only. */
const PROBE_LOCAL_PART = 'testmailflow';

export function mailflowProbeAddress(targetFqdn: string): string {
  return `TestMailflow@${targetFqdn.toLowerCase()}`;
}

/**
 * Whether a message another server of the organization sent is a Test-Mailflow probe for this server: every
 * recipient is the probe address of this server. Only authenticated servers get here, so nobody outside the
 * organization can make a server swallow mail.
 */
export function isMailflowProbe(recipients: readonly string[], serverFqdn: string): boolean {
  const wanted = `${PROBE_LOCAL_PART}@${serverFqdn.toLowerCase()}`;
  return recipients.length > 0 && recipients.every((r) => r.toLowerCase() === wanted);
}

export interface MailflowProbeResult {
  latencyMs: number;
  /** The target's reply to the data. */
  reply: string;
}

/**
 * Sends one probe and resolves with how long the target took to accept it; rejects with a DeliveryError
 * whose reply says why not (connection, TLS, the pinned certificate, the target's reply, the timeout).
 */
export async function sendMailflowProbe(
  deps: { snapshot: TransportSnapshot; sendLog: ProtocolLogWriter; clock: () => Date },
  target: RedirectTarget,
  timeoutMs: number,
): Promise<MailflowProbeResult> {
  const started = performance.now();
  const runtime = intraOrganizationRuntime(deps.snapshot, target);
  const source = deps.snapshot.server;
  const id = `<TestMailflow-${randomUUID()}@${source.fqdn.toLowerCase()}>`;
  const to = mailflowProbeAddress(target.fqdn);
  const body = Buffer.from(
    [
      `From: Microsoft Exchange <postmaster@${source.fqdn.toLowerCase()}>`,
      `To: ${to}`,
      `Subject: Test-Mailflow ${source.name} to ${target.serverName}`,
      `Date: ${deps.clock().toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: ${id}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      `A test message from ${source.name} to ${target.serverName}, sent by Test-Mailflow.`,
      '',
    ].join('\r\n'),
  );
  let conn: SmtpClientConnection | undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      conn?.destroy();
      reject(new DeliveryError(`451 4.4.1 Test-Mailflow: ${target.serverName} did not accept the test message within ${Math.round(timeoutMs / 1000)} seconds`, false, true));
    }, timeoutMs);
  });
  const attempt = (async () => {
    const log = new ProtocolLogSession(deps.sendLog, { connectorId: runtime.record.name });
    conn = await SmtpClientConnection.open(runtime, intraOrganizationTarget(target), log, target.fqdn);
    try {
      const result = await conn.send({ id: 0, from: `postmaster@${source.fqdn.toLowerCase()}`, recipients: [to], body, internetMessageId: id });
      if (result.accepted.length === 0) throw new DeliveryError(result.rejected[0]?.reply ?? result.reply, true, false);
      return { latencyMs: performance.now() - started, reply: result.reply };
    } finally {
      await conn.quit();
    }
  })();
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
    attempt.catch(() => undefined);
  }
}
