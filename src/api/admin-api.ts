import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { InvokeRequest } from '../cmdlets/contract.js';
import type { Caller } from '../cmdlets/framework/context.js';
import type { CmdletRunner } from '../cmdlets/framework/runner.js';
import type { DirectoryStore } from '../directory/directory-store.js';
import { ERROR_CATALOG, type ErrorCode } from '../errors/catalog.js';
import { InterchangeError } from '../errors/interchange-error.js';
import { ANSWERING_SERVER_HEADER, FORWARDED_BY_HEADER, INTENDED_SERVER_HEADER, sameServer } from '../cmdlets/framework/server-fetch.js';
import { CredentialCheck } from '../security/credential-check.js';
import { holdsRole } from '../security/roles.js';
import { METRICS_CONTENT_TYPE, type ServerMetrics } from '../observability/server-metrics.js';
import { parseInvokeRequest } from './invoke-request.js';
import { type GuardLogger, UnauthenticatedRequests } from './request-guards.js';

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
  /** Serve HTTPS with this certificate (the IIS one); plain HTTP without. */
  https?: { cert: string; key: string };
  /** The service log, for the summary of unauthenticated requests. */
  serviceLog?: GuardLogger;
  /** How tokens are checked; one per process, shared with the admin center. */
  credentials?: CredentialCheck;
  /** Served at GET /metrics to administrators who may read the configuration (a view-only credential suffices). */
  metrics?: Pick<ServerMetrics, 'render'>;
}

export type Authenticator = (request: FastifyRequest) => Promise<Caller | undefined>;

/** A bearer token (`Authorization: Bearer icx_…`) names an administrator. */
export function bearerAuthenticator(credentials: CredentialCheck): Authenticator {
  return async (request) => {
    const header = request.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    return m ? credentials.callerForToken(m[1]) : undefined;
  };
}

/**
 * The HTTP face of the cmdlet layer: every cmdlet, JSON in and out. It holds
 * no logic of its own beyond authentication; the runner does the rest.
 */
export async function buildAdminApi(opts: AdminApiOptions): Promise<FastifyInstance> {
  const app = (opts.https ? Fastify({ logger: opts.logger ?? false, bodyLimit: 32 * 1024 * 1024, https: opts.https }) : Fastify({ logger: opts.logger ?? false, bodyLimit: 32 * 1024 * 1024 })) as unknown as FastifyInstance;
  const bearer = bearerAuthenticator(opts.credentials ?? new CredentialCheck(opts.directory, opts.clock));
  const authenticate: Authenticator = async (req) => (await bearer(req)) ?? (await firstOf(opts.authenticators ?? [], req));

  // Counted, not audited: the audit log records what administrators did, and
  // anyone who can reach the port could otherwise fill it with names of their choosing.
  const unauthenticated = new UnauthenticatedRequests(opts.serviceLog, opts.clock);
  const refuse = async (name: string, reason: ErrorCode, message: string, address: string) => {
    unauthenticated.record(address, `POST /api/v1/cmdlets/${name}`);
    const error = new InterchangeError(reason, message);
    return { status: ERROR_CATALOG[reason].httpStatus, body: { ok: false, cmdlet: name, output: [], warnings: [], whatIf: [], errors: [], error: error.toWire() } };
  };

  // Fastify's own refusals (malformed JSON, a body over the limit, a wrong content type) answer
  // in the API's error shape with a stable code; anything else is ours and logged.
  app.setErrorHandler((error: { statusCode?: number; message: string }, _req, reply) => {
    // Ours, typed (the directory cannot be reached while a credential is checked): said as it is.
    if (error instanceof InterchangeError) return reply.code(error.httpStatus).send({ ok: false, output: [], warnings: [], whatIf: [], errors: [], error: error.toWire() });
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const wire =
      status < 500
        ? new InterchangeError('ICX_REQUEST_INVALID', `The request is not a valid cmdlet invocation: ${error.message}.`).toWire()
        : new InterchangeError('ICX_INTERNAL', 'The request failed unexpectedly; the service log has details.').toWire();
    if (status === 500) opts.serviceLog?.warn({ err: error }, 'admin API request failed');
    return reply.code(status).send({ ok: false, output: [], warnings: [], whatIf: [], errors: [], error: wire });
  });

  // Every answer says which server gave it: a server calling another checks it reached the one it meant.
  app.addHook('onSend', async (_req, reply) => {
    reply.header(ANSWERING_SERVER_HEADER, opts.localServer);
  });

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
      const r = await refuse(req.params.name, 'ICX_AUTH_REQUIRED', 'The request carries no valid administrator credential.', req.ip);
      return reply.code(r.status).send(r.body);
    }
    const intended = req.headers[INTENDED_SERVER_HEADER];
    if (typeof intended === 'string' && !sameServer(intended, opts.localServer)) {
      // Another server meant this call for `intended` and reached us at its advertised address: run nothing.
      const error = new InterchangeError('ICX_SERVER_MISMATCH', `This call was meant for ${intended} but reached ${opts.localServer}; nothing was run.`);
      return reply.code(error.httpStatus).send({ ok: false, cmdlet: req.params.name, output: [], warnings: [], whatIf: [], errors: [], error: error.toWire() });
    }
    const forwardedBy = req.headers[FORWARDED_BY_HEADER];
    const acting: Caller = { ...caller, channel: channelOf(req), ...(typeof forwardedBy === 'string' && forwardedBy ? { forwardedBy } : {}) };
    let body: InvokeRequest;
    try {
      body = parseInvokeRequest(req.body);
    } catch (e) {
      const error = e as InterchangeError;
      return reply.code(error.httpStatus).send({ ok: false, cmdlet: req.params.name, output: [], warnings: [], whatIf: [], errors: [], error: error.toWire() });
    }
    const result = await opts.runner.invoke(acting, req.params.name, body);
    const status = result.ok ? 200 : result.error ? ERROR_CATALOG[result.error.code as ErrorCode]?.httpStatus ?? 500 : 500;
    return reply.code(status).send(result);
  });

  // Prometheus's scrape: a bearer credential that may read (View-Only Organization Management is enough).
  const metrics = opts.metrics;
  if (metrics) {
    app.get('/metrics', async (req, reply) => {
      const caller = await authenticate(req);
      if (!caller) {
        unauthenticated.record(req.ip, 'GET /metrics');
        return reply.code(401).header('www-authenticate', 'Bearer').send({ ok: false, error: new InterchangeError('ICX_AUTH_REQUIRED', 'The scrape carries no valid administrator credential: give Prometheus a token (authorization credentials_file).').toWire() });
      }
      if (!holdsRole(caller.roleGroups, 'View-Only Configuration')) {
        return reply.code(403).send({ ok: false, error: new InterchangeError('ICX_ACCESS_DENIED', `${caller.name} may not read the metrics: it needs a role group that may read the configuration, such as View-Only Organization Management.`).toWire() });
      }
      return reply.type(METRICS_CONTENT_TYPE).send(await metrics.render());
    });
  }

  await opts.extend?.(app, authenticate);
  return app;
}

/** What carried the request: TLS, loopback (plain, but on no network) or plain HTTP from another host. */
function channelOf(req: FastifyRequest): NonNullable<Caller['channel']> {
  if ((req.raw.socket as { encrypted?: boolean }).encrypted) return 'https';
  const address = req.raw.socket.remoteAddress ?? '';
  return address === '::1' || /^(::ffff:)?127\./.test(address) ? 'loopback' : 'http';
}

async function firstOf(auths: Authenticator[], req: FastifyRequest): Promise<Caller | undefined> {
  for (const a of auths) {
    const c = await a(req);
    if (c) return c;
  }
  return undefined;
}
