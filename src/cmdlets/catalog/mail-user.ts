// Mail users: the accounts that authenticate to Receive connectors with SMTP
// AUTH (Exchange checks Active Directory users; Interchange keeps its own).
import crypto from 'node:crypto';
import type { DirectoryStore } from '../../directory/directory-store.js';
import type { MailUserRecord } from '../../directory/records.js';
import { checkObjectName } from '../../organization/object-name.js';
import { InterchangeError } from '../../errors/interchange-error.js';
import { hashPassword, passwordWeakness } from '../../security/password-hash.js';
import type { CmdletContext } from '../framework/context.js';
import { type BoundParameters, type CmdletDeclaration, defineCmdlet, defineObjectType, type ParameterDeclaration } from '../framework/declaration.js';
import { identityError, sameText } from './common.js';

export const mailUserType = defineObjectType({
  name: 'MailUser',
  properties: [
    { name: 'Identity', type: 'String' },
    { name: 'Name', type: 'String' },
    { name: 'Alias', type: 'String' },
    { name: 'DisplayName', type: 'String' },
    { name: 'UserPrincipalName', type: 'String' },
    { name: 'PrimarySmtpAddress', type: 'String' },
    { name: 'ExternalEmailAddress', type: 'String' },
    { name: 'EmailAddresses', type: 'String', multiValued: true },
    { name: 'RecipientType', type: 'String' },
    { name: 'RecipientTypeDetails', type: 'String' },
    { name: 'Guid', type: 'Guid' },
    { name: 'WhenChanged', type: 'DateTime' },
    { name: 'WhenCreated', type: 'DateTime' },
  ],
  defaultTableView: ['Name', 'RecipientType'],
  defaultListView: [],
});

export function toMailUserObject(u: MailUserRecord) {
  const addresses = [`SMTP:${u.primarySmtpAddress}`];
  if (!sameText(u.userPrincipalName, u.primarySmtpAddress)) addresses.push(`smtp:${u.userPrincipalName}`);
  return {
    $type: 'MailUser',
    Identity: u.name,
    Name: u.name,
    Alias: u.alias,
    DisplayName: u.displayName,
    UserPrincipalName: u.userPrincipalName,
    PrimarySmtpAddress: u.primarySmtpAddress,
    ExternalEmailAddress: `SMTP:${u.externalEmailAddress}`,
    EmailAddresses: addresses,
    RecipientType: 'MailUser',
    RecipientTypeDetails: 'MailUser',
    Guid: u.guid,
    WhenChanged: u.whenChanged,
    WhenCreated: u.whenCreated,
  };
}

/** Exchange's MailUserIdParameter: name, alias, user principal name, an e-mail address or the GUID, any case. */
export async function findMailUser(directory: DirectoryStore, identity: string): Promise<MailUserRecord> {
  const wanted = identity.trim();
  const u = (await directory.listMailUsers()).find(
    (x) => x.guid === wanted.toLowerCase() || [x.name, x.alias, x.userPrincipalName, x.primarySmtpAddress].some((v) => sameText(v, wanted)),
  );
  if (!u) throw identityError('mail users', identity);
  return u;
}

const ADDRESS = /^[^@\s<>()",;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

function address(value: unknown, parameter: string): string {
  const text = String(value ?? '').trim().replace(/^smtp:/i, '');
  if (!ADDRESS.test(text) || text.length > 320) {
    throw new InterchangeError('ICX_PARAM_INVALID', `Cannot process argument transformation on parameter '${parameter}'. The e-mail address "${String(value)}" isn't correct. Please use this format: user name, the @ sign, followed by the domain name. For example, tonysmith@contoso.com or tony.smith@contoso.com.`, { parameter });
  }
  return text;
}

function alias(value: string): string {
  const a = value.replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/g, '').replace(/^\.+|\.+$/g, '').slice(0, 64);
  if (!a) throw new InterchangeError('ICX_PARAM_INVALID', `The alias "${value}" contains no valid characters.`, { parameter: 'Alias' });
  return a;
}

async function passwordHashFor(value: unknown): Promise<string> {
  const weakness = passwordWeakness(String(value ?? ''));
  if (weakness) throw new InterchangeError('ICX_PASSWORD_WEAK', `The password doesn't meet the complexity requirements. ${weakness}`, { parameter: 'Password' });
  return hashPassword(String(value));
}

/** A user's addresses must not belong to another user: SMTP AUTH decides who may send as whom from them. */
async function saveMailUser(directory: DirectoryStore, user: MailUserRecord, insert: boolean): Promise<void> {
  await directory.exclusive(async (tx) => {
    // Two equal UPNs are the store's ICX_OBJECT_EXISTS; any other shared address is refused here.
    const clashOf = (o: MailUserRecord): string | undefined => {
      if (o.guid === user.guid || sameText(o.userPrincipalName, user.userPrincipalName)) return undefined;
      return [user.primarySmtpAddress, user.userPrincipalName].find((m) => [o.primarySmtpAddress, o.userPrincipalName].some((a) => sameText(a, m)));
    };
    const other = (await tx.listMailUsers()).find((o) => clashOf(o) !== undefined);
    if (other) {
      const clash = clashOf(other)!;
      throw new InterchangeError('ICX_ADDRESS_IN_USE', `The proxy address "SMTP:${clash}" is already being used by the proxy addresses or LegacyExchangeDN of "${other.name}". Please choose another proxy address.`);
    }
    if (insert) await tx.insertMailUser(user);
    else await tx.updateMailUser(user);
  });
}

const identity = (mandatory: boolean): ParameterDeclaration => ({
  name: 'Identity',
  type: 'String',
  position: 0,
  mandatory,
  valueFromPipeline: true,
  valueFromPipelineByPropertyName: true,
  description: 'The mail user: its name, alias, user principal name, e-mail address or GUID.',
});

const settable: ParameterDeclaration[] = [
  { name: 'Alias', type: 'String', description: 'The alias; default: the part of the user principal name before the @.' },
  { name: 'DisplayName', type: 'String', description: 'The name shown in address lists; default: Name.' },
  { name: 'ExternalEmailAddress', type: 'String', description: 'Where mail for the user goes, e.g. SMTP:ed@fabrikam.com.' },
  { name: 'PrimarySmtpAddress', type: 'String', description: 'The address the user sends as; default: the user principal name. SMTP AUTH lets the user send as this address or the user principal name.' },
];

function applySettable(ctx: CmdletContext, u: MailUserRecord, p: BoundParameters): MailUserRecord {
  const next = { ...u, whenChanged: ctx.services.clock() };
  if (typeof p.Alias === 'string') next.alias = alias(p.Alias);
  if (typeof p.DisplayName === 'string') next.displayName = p.DisplayName.trim() || next.name;
  if (p.ExternalEmailAddress !== undefined) next.externalEmailAddress = address(p.ExternalEmailAddress, 'ExternalEmailAddress');
  if (p.PrimarySmtpAddress !== undefined) next.primarySmtpAddress = address(p.PrimarySmtpAddress, 'PrimarySmtpAddress');
  return next;
}

export function mailUserCmdlets(): CmdletDeclaration[] {
  const get = defineCmdlet({
    name: 'Get-MailUser',
    synopsis: 'Lists mail users, the accounts that can authenticate to Receive connectors.',
    parameters: [identity(false)],
    outputType: 'MailUser',
    role: 'Mail Recipients',
    changesState: false,
    examples: [{ code: 'Get-MailUser -Identity ed@contoso.com | Format-List Name,UserPrincipalName,PrimarySmtpAddress', remarks: 'One mail user by its user principal name.' }],
    async run(ctx, p) {
      if (p.Identity === undefined) return (await ctx.services.directory.listMailUsers()).map(toMailUserObject);
      return [toMailUserObject(await findMailUser(ctx.services.directory, p.Identity as string))];
    },
  });

  const create = defineCmdlet({
    name: 'New-MailUser',
    synopsis: 'Creates a mail user that can authenticate to Receive connectors (SMTP AUTH).',
    description:
      'A mail user signs in to a Receive connector whose AuthMechanism includes BasicAuth, with its user principal name, its name or DOMAIN\\name, ' +
      'and its password. The password is stored only as a salted scrypt hash.',
    parameters: [
      { name: 'Name', type: 'String', position: 0, mandatory: true, description: 'The unique name of the mail user.' },
      { name: 'UserPrincipalName', type: 'String', mandatory: true, description: 'The sign-in name, in e-mail address form (ed@contoso.com).' },
      { name: 'Password', type: 'SecureString', mandatory: true, description: 'The password: at least 8 characters from three of lower case, upper case, digits and symbols.' },
      ...settable.map((s) => (s.name === 'ExternalEmailAddress' ? { ...s, mandatory: true } : s)),
    ],
    outputType: 'MailUser',
    role: 'Mail Recipient Creation',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [
      {
        code: "New-MailUser -Name \"Ed Meadows\" -UserPrincipalName ed@contoso.com -ExternalEmailAddress ed@fabrikam.com -Password (ConvertTo-SecureString -String 'P@ssw0rd1' -AsPlainText -Force)",
        remarks: 'A mail user that can send through a Receive connector with BasicAuth, as ed@contoso.com.',
      },
    ],
    async run(ctx, p) {
      const name = checkObjectName(p.Name);
      const upn = address(p.UserPrincipalName, 'UserPrincipalName');
      const now = ctx.services.clock();
      const draft: MailUserRecord = {
        guid: crypto.randomUUID(),
        name,
        alias: alias(upn.split('@')[0]),
        displayName: name,
        userPrincipalName: upn,
        primarySmtpAddress: upn,
        externalEmailAddress: '',
        passwordHash: '',
        whenCreated: now,
        whenChanged: now,
      };
      const user = applySettable(ctx, draft, p);
      user.whenChanged = now;
      // Checked before the prompt, so -WhatIf reports a bad password too; hashed only when it will be stored.
      const weakness = passwordWeakness(String(p.Password ?? ''));
      if (weakness) throw new InterchangeError('ICX_PASSWORD_WEAK', `The password doesn't meet the complexity requirements. ${weakness}`, { parameter: 'Password' });
      if (!ctx.shouldProcess(`Creating mail user "${name}" with user principal name "${upn}".`, name)) return;
      user.passwordHash = await passwordHashFor(p.Password);
      await saveMailUser(ctx.services.directory, user, true);
      return toMailUserObject(user);
    },
  });

  const set = defineCmdlet({
    name: 'Set-MailUser',
    synopsis: 'Changes a mail user: its password, addresses or names.',
    parameters: [
      identity(true),
      { name: 'Name', type: 'String', description: 'A new name.' },
      { name: 'UserPrincipalName', type: 'String', description: 'A new sign-in name.' },
      { name: 'Password', type: 'SecureString', description: 'A new password; sessions signed in with the old one keep their session.' },
      ...settable,
    ],
    role: 'Mail Recipients',
    changesState: true,
    confirmImpact: 'Medium',
    examples: [{ code: "Set-MailUser ed@contoso.com -Password (ConvertTo-SecureString -String 'N3w-Passw0rd' -AsPlainText -Force)", remarks: 'Resets the password.' }],
    async run(ctx, p) {
      const current = await findMailUser(ctx.services.directory, p.Identity as string);
      const next = applySettable(ctx, current, p);
      if (typeof p.Name === 'string') next.name = checkObjectName(p.Name);
      if (p.UserPrincipalName !== undefined) next.userPrincipalName = address(p.UserPrincipalName, 'UserPrincipalName');
      if (p.Password !== undefined) {
        const weakness = passwordWeakness(String(p.Password ?? ''));
        if (weakness) throw new InterchangeError('ICX_PASSWORD_WEAK', `The password doesn't meet the complexity requirements. ${weakness}`, { parameter: 'Password' });
      }
      if (!ctx.shouldProcess(`Configuring mail user "${current.name}".`, current.name)) return;
      if (p.Password !== undefined) next.passwordHash = await passwordHashFor(p.Password);
      await saveMailUser(ctx.services.directory, next, false);
    },
  });

  const remove = defineCmdlet({
    name: 'Remove-MailUser',
    synopsis: 'Removes a mail user; it can no longer authenticate.',
    parameters: [identity(true)],
    role: 'Mail Recipient Creation',
    changesState: true,
    confirmImpact: 'High',
    examples: [{ code: 'Remove-MailUser -Identity ed@contoso.com', remarks: 'Removes the mail user after confirmation.' }],
    async run(ctx, p) {
      const u = await findMailUser(ctx.services.directory, p.Identity as string);
      if (!ctx.shouldProcess(`Removing the mail user "${u.name}" will remove the user object.`, u.name)) return;
      await ctx.services.directory.deleteMailUser(u.guid);
    },
  });

  return [get, create, set, remove];
}
