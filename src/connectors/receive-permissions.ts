// What a Receive connector lets an SMTP session do. Exchange keeps this as
// access control entries on the connector: PermissionGroups add a fixed set
// for well-known principals, Add-ADPermission adds more. A session holds the
// rights of the principals it acts as: anonymous until AUTH succeeds.
import type { PermissionGroup, ReceiveConnectorPermissionEntry, ReceiveConnectorRecord, SmtpExtendedRight } from '../directory/records.js';

const ANONYMOUS_LOGON = 'NT AUTHORITY\\ANONYMOUS LOGON';
const AUTHENTICATED_USERS = 'NT AUTHORITY\\Authenticated Users';
const EXTERNALLY_SECURED_SERVERS = 'MS Exchange\\Externally Secured Servers';
const PARTNER_SERVERS = 'MS Exchange\\Partner Servers';
/** The principal a server of the organization acts as once it has proved itself with its internal transport certificate. */
export const HUB_TRANSPORT_SERVERS = 'MS Exchange\\Hub Transport Servers';
const EVERYONE = 'Everyone';

/** Principals an administrator may name in Add-ADPermission, by their canonical spelling. */
export const GRANTABLE_PRINCIPALS = [ANONYMOUS_LOGON, AUTHENTICATED_USERS, EVERYONE] as const;

/** Extended rights in the order Exchange lists them, with the token the protocol log's "Set Session Permissions" row uses. */
export const SMTP_EXTENDED_RIGHTS: readonly { right: SmtpExtendedRight; token: string }[] = [
  { right: 'ms-Exch-SMTP-Submit', token: 'SMTPSubmit' },
  { right: 'ms-Exch-SMTP-Accept-Any-Recipient', token: 'SMTPAcceptAnyRecipient' },
  { right: 'ms-Exch-SMTP-Accept-Authentication-Flag', token: 'SMTPAcceptAuthenticationFlag' },
  { right: 'ms-Exch-SMTP-Accept-Any-Sender', token: 'SMTPAcceptAnySender' },
  { right: 'ms-Exch-SMTP-Accept-Authoritative-Domain-Sender', token: 'SMTPAcceptAuthoritativeDomainSender' },
  { right: 'ms-Exch-Bypass-Message-Size-Limit', token: 'BypassMessageSizeLimit' },
  { right: 'ms-Exch-Accept-Headers-Routing', token: 'AcceptRoutingHeaders' },
];

const ALL_RIGHTS = SMTP_EXTENDED_RIGHTS.map((r) => r.right);

/**
 * The entries each permission group puts on a connector, after Exchange's "Receive connector permission groups".
 * ExchangeUsers carries the authentication flag where Exchange's list has ms-Exch-Bypass-Anti-Spam: Interchange
 * has no anti-spam agents to bypass, and the flag is what marks the session's mail as authenticated.
 */
const GROUP_ENTRIES: Partial<Record<PermissionGroup, { user: string; rights: SmtpExtendedRight[] }[]>> = {
  AnonymousUsers: [{ user: ANONYMOUS_LOGON, rights: ['ms-Exch-SMTP-Submit', 'ms-Exch-SMTP-Accept-Any-Sender', 'ms-Exch-SMTP-Accept-Authoritative-Domain-Sender', 'ms-Exch-Accept-Headers-Routing'] }],
  ExchangeUsers: [{ user: AUTHENTICATED_USERS, rights: ['ms-Exch-SMTP-Submit', 'ms-Exch-SMTP-Accept-Any-Recipient', 'ms-Exch-SMTP-Accept-Authentication-Flag', 'ms-Exch-Accept-Headers-Routing'] }],
  Partners: [{ user: PARTNER_SERVERS, rights: ['ms-Exch-SMTP-Submit', 'ms-Exch-Accept-Headers-Routing'] }],
};

export interface ConnectorPermissionEntry extends ReceiveConnectorPermissionEntry {
  /** The permission group that put it there; undefined for an entry added with Add-ADPermission. */
  group?: PermissionGroup;
}

/** Every entry of the connector: the permission groups' first, then the ones added with Add-ADPermission. */
export function connectorPermissionEntries(c: ReceiveConnectorRecord): ConnectorPermissionEntry[] {
  const out: ConnectorPermissionEntry[] = [];
  for (const group of c.permissionGroups) {
    for (const e of GROUP_ENTRIES[group] ?? []) out.push({ user: e.user, extendedRights: [...e.rights], deny: false, group });
  }
  // Externally secured (IPsec, a private line): Exchange trusts such a session with every right.
  if (c.permissionGroups.includes('ExchangeServers') && c.authMechanism.includes('ExternalAuthoritative')) {
    out.push({ user: EXTERNALLY_SECURED_SERVERS, extendedRights: [...ALL_RIGHTS], deny: false, group: 'ExchangeServers' });
  }
  // Exchange server authentication: a server of the organization gets every right ExchangeServers grants.
  if (c.permissionGroups.includes('ExchangeServers') && c.authMechanism.includes('ExchangeServer')) {
    out.push({ user: HUB_TRANSPORT_SERVERS, extendedRights: [...ALL_RIGHTS], deny: false, group: 'ExchangeServers' });
  }
  for (const e of c.permissions ?? []) out.push({ ...e, extendedRights: [...e.extendedRights] });
  return out;
}

/** Who a session acts as: nobody yet, an SMTP AUTH user, or a server of the organization (its internal transport certificate). */
export type SessionPrincipal = 'anonymous' | 'authenticated' | 'exchangeServer';

/**
 * The rights of a session on this connector. As in Windows, a session acts as
 * ANONYMOUS LOGON until AUTH succeeds and as Authenticated Users after it,
 * never both, so denying anonymous senders leaves authenticated ones alone;
 * both are Everyone. A server of the organization is an authenticated
 * principal too, and a Hub Transport server. On an ExternalAuthoritative
 * connector every session is an externally secured server. Deny entries win over grants.
 */
export function sessionRights(c: ReceiveConnectorRecord, as: boolean | SessionPrincipal): Set<SmtpExtendedRight> {
  const principal: SessionPrincipal = as === true ? 'authenticated' : as === false ? 'anonymous' : as;
  const names = principal === 'anonymous' ? [ANONYMOUS_LOGON] : principal === 'authenticated' ? [AUTHENTICATED_USERS] : [AUTHENTICATED_USERS, HUB_TRANSPORT_SERVERS];
  const principals = new Set([...names, EVERYONE, EXTERNALLY_SECURED_SERVERS].map((p) => p.toLowerCase()));
  const granted = new Set<SmtpExtendedRight>();
  const denied = new Set<SmtpExtendedRight>();
  for (const e of connectorPermissionEntries(c)) {
    if (!principals.has(e.user.toLowerCase())) continue;
    for (const r of e.extendedRights) (e.deny ? denied : granted).add(r);
  }
  for (const r of denied) granted.delete(r);
  return granted;
}

/**
 * The "Set Session Permissions" text of the protocol log. Written at the start of every verbose session from a
 * connector runtime's rights, which never change once built: the text is made once per set of rights.
 */
export function sessionPermissionsText(rights: ReadonlySet<SmtpExtendedRight>): string {
  let text = PERMISSIONS_TEXT.get(rights);
  if (text === undefined) {
    text = SMTP_EXTENDED_RIGHTS.filter((r) => rights.has(r.right)).map((r) => r.token).join(' ');
    PERMISSIONS_TEXT.set(rights, text);
  }
  return text;
}

const PERMISSIONS_TEXT = new WeakMap<ReadonlySet<SmtpExtendedRight>, string>();
