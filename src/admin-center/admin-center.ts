import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../api/admin-api.js';
import { CredentialCheck } from '../security/credential-check.js';
import { type GuardLogger, SignInThrottle, UnauthenticatedRequests } from '../api/request-guards.js';
import type { DirectoryStore } from '../directory/directory-store.js';
import { InterchangeError } from '../errors/interchange-error.js';
import { SessionStore } from './session-store.js';
import { defaultWebRoot } from './web-root.js';

export const SESSION_COOKIE = 'icx_session';

export interface AdminCenterOptions {
  directory: DirectoryStore;
  localServer: string;
  clock: () => Date;
  /** The built web app (dist/web). */
  webRoot?: string;
  /** The service log, for the summary of failed sign-ins. */
  logger?: GuardLogger;
  /** Failed sign-ins allowed per client address in `signInWindowMs` before its failures get 429. */
  signInAttempts?: number;
  signInWindowMs?: number;
  sessionIdleTimeoutMs?: number;
  /** How tokens are checked; one per process, shared with the admin API. */
  credentials?: CredentialCheck;
}

export interface AdminCenter {
  /** Recognizes the session cookie; pass in `buildAdminApi({ authenticators })`. */
  authenticator: Authenticator;
  /** Registers sign-in, sign-out and the web app; pass as `buildAdminApi({ extend })`. */
  register: (app: FastifyInstance, auth: Authenticator) => Promise<void>;
  sessions: SessionStore;
}

// Same-origin only; Fluent UI's styling engine inserts <style> rules at run time.
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

function securityHeaders(set: (name: string, value: string) => unknown) {
  set('content-security-policy', CONTENT_SECURITY_POLICY);
  set('x-frame-options', 'DENY');
  set('x-content-type-options', 'nosniff');
  set('referrer-policy', 'no-referrer');
}

/** A request a page of another origin made (its Origin header names another host). */
export function crossOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host.toLowerCase() !== String(request.headers.host ?? '').toLowerCase();
  } catch {
    return true;
  }
}

/**
 * The one cookie the admin center sets, written here rather than through
 * @fastify/cookie, whose current releases need Node 22 (the cookie package 2).
 * The value is base64url, so it needs no encoding.
 */
export function sessionCookie(value: string, maxAgeSeconds?: number): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; Secure; SameSite=Strict${maxAgeSeconds === undefined ? '' : `; Max-Age=${maxAgeSeconds}; Expires=Thu, 01 Jan 1970 00:00:00 GMT`}`;
}

/** Reads one cookie from the request header, without depending on hook order. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/**
 * The admin center on the admin API's own Fastify instance: the same origin
 * as the API, so the session cookie can be SameSite=Strict and the page calls
 * the cmdlets exactly as any other client does.
 */
export function createAdminCenter(opts: AdminCenterOptions): AdminCenter {
  const sessions = new SessionStore({ clock: opts.clock, idleTimeoutMs: opts.sessionIdleTimeoutMs });
  const credentials = opts.credentials ?? new CredentialCheck(opts.directory, opts.clock);
  const throttle = new SignInThrottle({ limit: opts.signInAttempts ?? 10, windowMs: opts.signInWindowMs ?? 5 * 60_000, clock: opts.clock });
  const unauthenticated = new UnauthenticatedRequests(opts.logger, opts.clock);
  const webRoot = opts.webRoot ?? defaultWebRoot();

  // SameSite=Strict already keeps the cookie off cross-site requests; a foreign
  // Origin is refused as well, for browsers and proxies that get SameSite wrong.
  // The session only remembers whose it is: the credential is read again on each request, so revoking it ends its sessions.
  const authenticator: Authenticator = async (request) => {
    if (crossOrigin(request)) return undefined;
    const id = readCookie(request.headers.cookie, SESSION_COOKIE);
    const session = sessions.resolve(id);
    if (!session?.token) return undefined;
    const caller = await credentials.callerForToken(session.token);
    if (!caller) sessions.destroy(id);
    return caller;
  };

  async function register(app: FastifyInstance, auth: Authenticator) {

    app.post<{ Body: { token?: unknown } | undefined }>('/api/v1/session', async (req, reply) => {
      const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
      const caller = token ? await credentials.callerForToken(token) : undefined;
      if (caller) {
        const id = sessions.create(caller);
        reply.header('set-cookie', sessionCookie(id));
        return { ok: true, name: caller.name, roleGroups: caller.roleGroups, server: opts.localServer };
      }
      unauthenticated.record(req.ip, 'sign-in');
      const wait = throttle.fail(req.ip);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        return reply.code(429).send({ ok: false, error: new InterchangeError('ICX_SIGNIN_RATE_LIMITED', `Too many failed sign-ins from this address. Try again in ${wait} seconds.`).toWire() });
      }
      return reply.code(401).send({ ok: false, error: new InterchangeError('ICX_AUTH_REQUIRED', 'The administrator token was not recognized.').toWire() });
    });

    app.get('/api/v1/session', async (req, reply) => {
      const caller = await auth(req);
      if (!caller) return reply.code(401).send({ ok: false, error: new InterchangeError('ICX_AUTH_REQUIRED', 'Sign in to the admin center.').toWire() });
      return { ok: true, name: caller.name, roleGroups: caller.roleGroups, server: opts.localServer };
    });

    app.delete('/api/v1/session', async (req, reply) => {
      sessions.destroy(readCookie(req.headers.cookie, SESSION_COOKIE));
      reply.header('set-cookie', sessionCookie('', 0));
      return reply.code(204).send();
    });

    const indexFile = path.join(webRoot, 'index.html');
    if (fs.existsSync(indexFile)) {
      await app.register(fastifyStatic, {
        root: webRoot,
        prefix: '/',
        index: 'index.html',
        setHeaders: (res) => securityHeaders((name, value) => res.setHeader(name, value)),
      });
    }

    // Client-side routes (/certificates, /send-connectors …) all load the app.
    app.setNotFoundHandler(async (req, reply) => {
      if (req.method !== 'GET' || req.url.startsWith('/api/')) {
        return reply.code(404).send({ ok: false, error: new InterchangeError('ICX_OBJECT_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}.`).toWire() });
      }
      securityHeaders((name, value) => reply.header(name, value));
      if (!fs.existsSync(indexFile)) {
        return reply.code(503).type('text/plain').send('The admin center has not been built. Run `npm run build`.');
      }
      reply.header('cache-control', 'no-cache');
      return reply.type('text/html').send(fs.createReadStream(indexFile));
    });
  }

  return { authenticator, register, sessions };
}
