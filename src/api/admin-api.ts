import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { InvokeRequest } from '../cmdlets/contract.js';
import type { Caller } from '../cmdlets/framework/context.js';
import type { CmdletRunner } from '../cmdlets/framework/runner.js';
import type { DirectoryStore } from '../directory/directory-store.js';
import { ERROR_CATALOG, type ErrorCode } from '../errors/catalog.js';
import { InterchangeError } from '../errors/interchange-error.js';
import { hashToken } from '../security/tokens.js';

export interface AdminApiOptions {
  runner: CmdletRunner;
  directory: DirectoryStore;
  localServer: string;
  clock: () => Date;
  /** Other ways to sign in besides the bearer token (the admin center's session cookie). */
  authenticators?: Authenticator[];
  /** Extra routes (the admin center) registered on the same instance. */
  extend?: (app: FastifyInstance, auth: Authenticator) => Promise<void> | void;
  logger?: boolean | object;
}

export type Authenticator = (request: FastifyRequest) => Promise<Caller | undefined>;

/** A bearer token (`Authorization: Bearer icx_…`) names an administrator. */
export function bearerAuthenticator(directory: DirectoryStore): Authenticator {
  return async (request) => {
    const header = request.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!m) return undefined;
    const admin = await directory.findAdministratorByTokenHash(hashToken(m[1]));
    return admin ? { name: admin.name, roleGroups: admin.roleGroups, token: m[1] } : undefined;
  };
}

/**
 * The HTTP face of the cmdlet layer: every cmdlet, JSON in and out. It holds
 * no logic of its own beyond authentication; the runner does the rest.
 */
export async function buildAdminApi(opts: AdminApiOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 32 * 1024 * 1024 });
  const bearer = bearerAuthenticator(opts.directory);
  const authenticate: Authenticator = async (req) => (await bearer(req)) ?? (await firstOf(opts.authenticators ?? [], req));

  const refuse = async (name: string, reason: ErrorCode, message: string) => {
    await opts.directory
      .appendAuditLog({
        runDate: opts.clock(),
        caller: '(unauthenticated)',
        cmdletName: name,
        cmdletParameters: {},
        objectModified: null,
        succeeded: false,
        error: `${reason}: ${message}`,
        originatingServer: opts.localServer,
      })
      .catch(() => undefined);
    const error = new InterchangeError(reason, message);
    return { status: ERROR_CATALOG[reason].httpStatus, body: { ok: false, cmdlet: name, output: [], warnings: [], whatIf: [], errors: [], error: error.toWire() } };
  };

  app.get('/api/v1/health', async () => ({ ok: true, server: opts.localServer }));

  app.get('/api/v1/cmdlets', async (req, reply) => {
    const caller = await authenticate(req);
    if (!caller) return reply.code(401).send({ ok: false, error: new InterchangeError('ICX_AUTH_REQUIRED', 'Sign in with an administrator token.').toWire() });
    return opts.runner.describe();
  });

  app.get('/api/v1/whoami', async (req, reply) => {
    const caller = await authenticate(req);
    if (!caller) return reply.code(401).send({ ok: false, error: new InterchangeError('ICX_AUTH_REQUIRED', 'Sign in with an administrator token.').toWire() });
    return { name: caller.name, roleGroups: caller.roleGroups, server: opts.localServer };
  });

  app.post<{ Params: { name: string }; Body: InvokeRequest | undefined }>('/api/v1/cmdlets/:name', async (req, reply) => {
    const caller = await authenticate(req);
    if (!caller) {
      const r = await refuse(req.params.name, 'ICX_AUTH_REQUIRED', 'The request carries no valid administrator credential.');
      return reply.code(r.status).send(r.body);
    }
    const body = (req.body ?? {}) as InvokeRequest;
    const result = await opts.runner.invoke(caller, req.params.name, body);
    const status = result.ok ? 200 : result.error ? ERROR_CATALOG[result.error.code as ErrorCode]?.httpStatus ?? 500 : 500;
    return reply.code(status).send(result);
  });

  await opts.extend?.(app, authenticate);
  return app;
}

async function firstOf(auths: Authenticator[], req: FastifyRequest): Promise<Caller | undefined> {
  for (const a of auths) {
    const c = await a(req);
    if (c) return c;
  }
  return undefined;
}
