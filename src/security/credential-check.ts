// Which administrator a token names. Every request reads the credential from
// the directory, which every server shares: a removed or expired credential is
// refused on all of them from the next request, and a role change applies at
// once. When the directory cannot be reached, though, that read fails, and
// with it every command, even the ones this server answers from its own
// running state (Get-Queue, Stop-Service) that an administrator needs most
// during an outage. So a credential this process has itself read from the
// directory is remembered, and only while the directory is unreachable it is
// taken as last read (its expiry still checked against the clock). No one can
// revoke a credential during the outage either: Remove-AdministratorCredential
// needs the directory too. A token never seen while the directory answered
// is refused; the memory holds hashes, a bounded number of them.
import type { Caller } from '../cmdlets/framework/context.js';
import { isDirectoryUnavailable } from '../directory/directory-health.js';
import type { DirectoryStore } from '../directory/directory-store.js';
import { type AdministratorRecord, administratorIsValid } from '../directory/records.js';
import { hashToken } from './tokens.js';

/** Distinct credentials remembered for an outage; the oldest read goes first. */
const REMEMBERED = 256;

export class CredentialCheck {
  private readonly lastRead = new Map<string, AdministratorRecord>();

  constructor(
    private readonly directory: Pick<DirectoryStore, 'findAdministratorByTokenHash'>,
    private readonly clock: () => Date,
  ) {}

  /** The caller the token names, or undefined for an unknown, removed or expired one. */
  async callerForToken(token: string): Promise<Caller | undefined> {
    const hash = hashToken(token);
    let admin: AdministratorRecord | undefined;
    let fromOutage = false;
    try {
      admin = await this.directory.findAdministratorByTokenHash(hash);
    } catch (e) {
      const remembered = isDirectoryUnavailable(e) ? this.lastRead.get(hash) : undefined;
      if (!remembered) throw e;
      admin = remembered;
      fromOutage = true;
    }
    if (!admin) {
      this.lastRead.delete(hash);
      return undefined;
    }
    if (!fromOutage) this.remember(hash, admin);
    if (!administratorIsValid(admin, this.clock())) return undefined;
    return { name: admin.name, roleGroups: admin.roleGroups, token, ...(fromOutage ? { checkedDuringOutage: true } : {}) };
  }

  private remember(hash: string, admin: AdministratorRecord): void {
    this.lastRead.delete(hash);
    this.lastRead.set(hash, admin);
    if (this.lastRead.size > REMEMBERED) this.lastRead.delete(this.lastRead.keys().next().value as string);
  }
}
