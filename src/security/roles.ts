import type { RoleGroup } from '../directory/records.js';

/** Exchange's management roles that Interchange's cmdlets are grouped under. */
export type ManagementRole =
  | 'Exchange Server Certificates'
  | 'Send Connectors'
  | 'Receive Connectors'
  | 'Exchange Servers'
  | 'Transport Queues'
  | 'Message Tracking'
  | 'Audit Logs'
  | 'Role Management'
  | 'Mail Recipients'
  | 'Mail Recipient Creation'
  | 'Remote and Accepted Domains'
  | 'Organization Transport Settings'
  | 'Active Directory Permissions'
  | 'Organization Configuration'
  | 'View-Only Configuration';

/**
 * Which role groups hold which roles, after Exchange's defaults. View-only
 * admins may run every Get-* cmdlet: the cmdlet layer asks for
 * 'View-Only Configuration' on reads.
 */
const ROLE_GROUPS: Record<RoleGroup, ReadonlySet<ManagementRole>> = {
  'Organization Management': new Set<ManagementRole>([
    'Exchange Server Certificates',
    'Send Connectors',
    'Receive Connectors',
    'Exchange Servers',
    'Transport Queues',
    'Message Tracking',
    'Audit Logs',
    'Role Management',
    'Mail Recipients',
    'Mail Recipient Creation',
    'Remote and Accepted Domains',
    // Get-/Set-TransportConfig: the organization-wide transport settings.
    'Organization Transport Settings',
    'Active Directory Permissions',
    // Changes that reach across servers, such as removing a server from the organization.
    'Organization Configuration',
    'View-Only Configuration',
  ]),
  'Server Management': new Set<ManagementRole>([
    'Exchange Server Certificates',
    'Receive Connectors',
    'Exchange Servers',
    'Transport Queues',
    'View-Only Configuration',
  ]),
  // Exchange gives Message Tracking to Organization Management and Recipient Management.
  'Recipient Management': new Set<ManagementRole>(['Mail Recipients', 'Mail Recipient Creation', 'Message Tracking']),
  'View-Only Organization Management': new Set<ManagementRole>(['View-Only Configuration']),
};

export const ROLE_GROUP_NAMES = Object.keys(ROLE_GROUPS) as RoleGroup[];

export function holdsRole(groups: readonly RoleGroup[], role: ManagementRole): boolean {
  return groups.some((g) => ROLE_GROUPS[g]?.has(role));
}
