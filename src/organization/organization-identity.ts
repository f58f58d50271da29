// Which organization a data folder belongs to, and whether its keyvault.key is
// that organization's. A host joining a shared directory with a mistyped URL, a
// forgotten key or another organization's folder must stop before it writes:
// a new organization or a new key made by mistake seals secrets that the other
// servers can never open.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DirectoryStore } from '../directory/directory-store.js';
import type { OrganizationRecord } from '../directory/records.js';
import { readOrUndefined, writeAtomically } from '../directory/recorded-directory.js';
import { InterchangeError } from '../errors/interchange-error.js';
import { KeyVault } from '../security/key-vault.js';

export const ORGANIZATION_NAME = 'First Organization';

/** What start-up knows about the data folder and the directory before it writes anything. */
export interface MembershipFacts {
  /** The organization's guid in the directory; undefined while the directory holds none. */
  directoryOrganization?: string;
  /** The guid recorded in the data folder; undefined before its first start (or from an earlier version). */
  folderOrganization?: string;
  hasKey: boolean;
  hasAdminToken: boolean;
}

export type Membership =
  | { action: 'create' }
  | { action: 'join'; adopt: boolean }
  | { action: 'refuse'; reason: 'folder-of-another-directory' | 'copied-folder' | 'foreign-folder' | 'no-key' };

/**
 * Only an empty data folder and an empty directory make a new organization (and
 * its key). A folder that holds a key or a token but no organization record is
 * a joining host's, prepared with copies: an empty directory then means the
 * --directory is wrong, not that an organization is wanted.
 */
export function decideMembership(f: MembershipFacts): Membership {
  if (f.directoryOrganization === undefined) {
    if (f.folderOrganization !== undefined) return { action: 'refuse', reason: 'folder-of-another-directory' };
    if (f.hasKey || f.hasAdminToken) return { action: 'refuse', reason: 'copied-folder' };
    return { action: 'create' };
  }
  if (f.folderOrganization !== undefined && f.folderOrganization !== f.directoryOrganization) return { action: 'refuse', reason: 'foreign-folder' };
  if (!f.hasKey) return { action: 'refuse', reason: 'no-key' };
  return { action: 'join', adopt: f.folderOrganization === undefined };
}

interface DataFolderFiles {
  dataDir: string;
  keyFile: string;
  organizationFile: string;
  tokenFile: string;
}

function dataFolderFiles(dataDir: string): DataFolderFiles {
  return { dataDir, keyFile: path.join(dataDir, 'keyvault.key'), organizationFile: path.join(dataDir, 'organization'), tokenFile: path.join(dataDir, 'admin-token') };
}

function folderFacts(files: DataFolderFiles): Omit<MembershipFacts, 'directoryOrganization'> {
  const recorded = readOrUndefined(files.organizationFile)?.trim();
  return { folderOrganization: recorded || undefined, hasKey: fs.existsSync(files.keyFile), hasAdminToken: fs.existsSync(files.tokenFile) };
}

/** `directoryName` names the directory for messages: the URL without its password, or "the embedded directory". */
function refusal(m: Extract<Membership, { action: 'refuse' }>, files: DataFolderFiles, facts: MembershipFacts, directoryName: string): InterchangeError {
  switch (m.reason) {
    case 'folder-of-another-directory':
      return new InterchangeError(
        'ICX_ORGANIZATION_MISMATCH',
        `The data folder ${files.dataDir} belongs to organization ${facts.folderOrganization}, but ${directoryName} holds no organization: start it with the --directory it was used with.`,
      );
    case 'copied-folder':
      return new InterchangeError(
        'ICX_ORGANIZATION_MISMATCH',
        `${directoryName} holds no organization, but the data folder ${files.dataDir} already has ${facts.hasKey ? 'a keyvault.key' : 'an admin-token'}, as a host joining an organization does: pass the organization's --directory postgres://…; a new organization starts in an empty data folder.`,
      );
    case 'foreign-folder':
      return new InterchangeError(
        'ICX_ORGANIZATION_MISMATCH',
        `The data folder ${files.dataDir} belongs to organization ${facts.folderOrganization}, not to organization ${facts.directoryOrganization} of ${directoryName}: use the directory of its own organization, or another data folder.`,
      );
    case 'no-key':
      return new InterchangeError(
        'ICX_KEYVAULT_MISSING',
        `There is no keyvault.key in ${files.dataDir}, and ${directoryName} already holds organization ${facts.directoryOrganization}: copy keyvault.key (and admin-token) from a server of the organization into ${files.dataDir}.`,
      );
  }
}

function wrongKey(files: DataFolderFiles): InterchangeError {
  return new InterchangeError('ICX_KEYVAULT_MISMATCH', `keyvault.key in ${files.dataDir} is not this organization's key: copy it from a server of the organization.`);
}

/**
 * The decision for a directory known to be empty, taken before it is made: a
 * joining host that forgot --directory gets no embedded directory in its folder.
 */
export function refuseNewOrganizationEarly(dataDir: string, directoryName: string): void {
  const files = dataFolderFiles(dataDir);
  const facts = folderFacts(files);
  const membership = decideMembership(facts);
  if (membership.action === 'refuse') throw refusal(membership, files, facts, directoryName);
}

/** What the organization's test secret holds: the key that opens it to this is the organization's key. */
function keyCheckPlaintext(guid: string): Buffer {
  return Buffer.from(`Interchange organization ${guid}`);
}

/**
 * Makes the organization (with its key) on the very first start, or checks that
 * this data folder and its key belong to the one in the directory. Everything is
 * decided inside the directory's write lock before the first write, so a refusal
 * leaves the directory and the data folder as they were.
 */
export async function joinOrganization(opts: { directory: DirectoryStore; dataDir: string; directoryName: string; clock: () => Date }): Promise<{ organization: OrganizationRecord; vault: KeyVault }> {
  const files = dataFolderFiles(opts.dataDir);
  // A new organization whose transaction did not commit must not leave its key behind: the next start would take
  // the folder for a joining host's.
  const made: string[] = [];
  try {
    return await opts.directory.exclusive(async (tx) => joinInside(tx, files, opts, made));
  } catch (e) {
    for (const file of made) fs.rmSync(file, { force: true });
    throw e;
  }
}

async function joinInside(tx: DirectoryStore, files: DataFolderFiles, opts: { directoryName: string; clock: () => Date }, made: string[]): Promise<{ organization: OrganizationRecord; vault: KeyVault }> {
  const existing = await tx.getOrganization();
  const facts: MembershipFacts = { directoryOrganization: existing?.guid, ...folderFacts(files) };
  const membership = decideMembership(facts);
  if (membership.action === 'refuse') throw refusal(membership, files, facts, opts.directoryName);
  let org: OrganizationRecord;
  let vault: KeyVault;
  if (membership.action === 'create') {
    vault = KeyVault.create(files.keyFile);
    made.push(files.keyFile);
    const guid = crypto.randomUUID();
    org = { guid, name: ORGANIZATION_NAME, createdAt: opts.clock(), keyCheck: vault.seal(keyCheckPlaintext(guid)) };
    await tx.createOrganization(org);
  } else {
    // decideMembership joins only an organization that exists, with a key file that exists.
    org = existing!;
    vault = KeyVault.read(files.keyFile)!;
    if (org.keyCheck) {
      if (!vault.opens(org.keyCheck, keyCheckPlaintext(org.guid))) throw wrongKey(files);
    } else {
      // An organization from before the test secret: the key that sealed its first private key is its key.
      const first = await firstSealedPrivateKey(tx);
      if (first && !vault.opens(first)) throw wrongKey(files);
      org = { ...org, keyCheck: vault.seal(keyCheckPlaintext(org.guid)) };
      await tx.updateOrganization(org);
    }
  }
  if (membership.action === 'create' || membership.adopt) {
    writeAtomically(files.organizationFile, org.guid + '\n');
    if (membership.action === 'create') made.push(files.organizationFile);
  }
  return { organization: org, vault };
}

async function firstSealedPrivateKey(directory: DirectoryStore) {
  const sealed = (await directory.listCertificates()).filter((c) => c.privateKey).sort((a, b) => new Date(a.createdAt).getTime() - new Date(b.createdAt).getTime());
  return sealed[0]?.privateKey ?? undefined;
}
