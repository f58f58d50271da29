import { type CmdletDeclaration, defineCmdlet, defineObjectType } from '../framework/declaration.js';

export const adminAuditLogType = defineObjectType({
  name: 'AdminAuditLogEvent',
  properties: [
    { name: 'RunDate', type: 'DateTime' },
    { name: 'Caller', type: 'String' },
    { name: 'CmdletName', type: 'String' },
    { name: 'CmdletParameters', type: 'Object' },
    { name: 'ObjectModified', type: 'String' },
    { name: 'Succeeded', type: 'Boolean' },
    { name: 'Error', type: 'String' },
    { name: 'OriginatingServer', type: 'String' },
  ],
  defaultTableView: ['RunDate', 'Caller', 'CmdletName', 'ObjectModified', 'Succeeded'],
  defaultListView: ['RunDate', 'Caller', 'CmdletName', 'CmdletParameters', 'ObjectModified', 'Succeeded', 'Error', 'OriginatingServer'],
});

export function adminAuditLogCmdlets(): CmdletDeclaration[] {
  return [
    defineCmdlet({
      name: 'Search-AdminAuditLog',
      synopsis: 'Searches the administrator audit log: every state-changing cmdlet, who ran it, with what parameters and result.',
      parameters: [
        { name: 'Cmdlets', type: 'String', multiValued: true, description: 'Only these cmdlets.' },
        { name: 'UserIds', type: 'String', multiValued: true, description: 'Only these callers.' },
        { name: 'ObjectIds', type: 'String', multiValued: true, description: 'Only changes to these objects.' },
        { name: 'StartDate', type: 'DateTime', description: 'From this time.' },
        { name: 'EndDate', type: 'DateTime', description: 'Up to this time.' },
        { name: 'IsSuccess', type: 'Boolean', description: 'Only successful ($true) or failed ($false) runs.' },
        { name: 'ResultSize', type: 'Int32', range: [1, 250000], description: 'At most this many entries, newest first. Default 1000.' },
      ],
      outputType: 'AdminAuditLogEvent',
      role: 'Audit Logs',
      changesState: false,
      examples: [{ code: 'Search-AdminAuditLog -Cmdlets Remove-ExchangeCertificate | Format-List', remarks: 'Every attempt to remove a certificate, refused ones included.' }],
      async run(ctx, p) {
        const users = (p.UserIds as string[] | undefined) ?? [];
        const entries = await ctx.services.directory.searchAuditLog({
          cmdlets: p.Cmdlets as string[] | undefined,
          caller: users.length === 1 ? users[0] : undefined,
          startDate: p.StartDate as Date | undefined,
          endDate: p.EndDate as Date | undefined,
          succeeded: p.IsSuccess as boolean | undefined,
          objectIds: p.ObjectIds as string[] | undefined,
          resultSize: p.ResultSize as number | undefined,
        });
        return entries
          .filter((e) => users.length <= 1 || users.some((u) => u.toLowerCase() === e.caller.toLowerCase()))
          .map((e) => ({
            $type: 'AdminAuditLogEvent',
            RunDate: e.runDate,
            Caller: e.caller,
            CmdletName: e.cmdletName,
            CmdletParameters: e.cmdletParameters,
            ObjectModified: e.objectModified,
            Succeeded: e.succeeded,
            Error: e.error,
            OriginatingServer: e.originatingServer,
          }));
      },
    }),
  ];
}
