import type { Generated } from 'kysely';

// Each table keeps its lookup keys as columns and the record itself as a JSON
// document: the same SQL then runs on SQLite and PostgreSQL, and adding a
// property to a record needs no migration.

export interface DocumentRow {
  data: string;
}

export interface DirectoryDatabase {
  meta: { key: string; value: number };
  organization: { guid: string } & DocumentRow;
  servers: { name_key: string } & DocumentRow;
  server_heartbeats: { server_key: string } & DocumentRow;
  certificates: { server_key: string; thumbprint: string } & DocumentRow;
  trusted_roots: { server_key: string; thumbprint: string } & DocumentRow;
  send_connectors: { guid: string; name_key: string } & DocumentRow;
  receive_connectors: { guid: string; server_key: string; name_key: string } & DocumentRow;
  mail_users: { guid: string; name_key: string; upn_key: string } & DocumentRow;
  accepted_domains: { guid: string; name_key: string; domain_key: string } & DocumentRow;
  remote_domains: { guid: string; name_key: string; domain_key: string } & DocumentRow;
  administrators: { id: string; token_hash: string } & DocumentRow;
  audit_log: {
    id: Generated<number>;
    run_date: string;
    cmdlet_name: string;
    caller: string;
    succeeded: number;
    object_modified: string | null;
  } & DocumentRow;
}
