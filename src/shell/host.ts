// The shell's only door to Exchange behavior: the cmdlet layer, reached over
// the HTTP API. The shell holds no business logic of its own.

import type { CmdletInfo, InvokeRequest, InvokeResponse, ObjectTypeInfo } from '../cmdlets/contract.js';
import { ANSWERING_SERVER_HEADER, INTENDED_SERVER_HEADER, sameServer } from '../cmdlets/framework/server-fetch.js';
import { InterchangeError } from '../errors/interchange-error.js';
import { UntrustedCertificateError } from '../security/pinned-fetch.js';

export interface CmdletCatalog {
  cmdlets: CmdletInfo[];
  types: ObjectTypeInfo[];
}

export interface CmdletHost {
  listCmdlets(): Promise<CmdletCatalog>;
  /** Runs one cmdlet invocation; `signal` aborts it (Ctrl-C). */
  invoke(name: string, request: InvokeRequest, options?: { signal?: AbortSignal }): Promise<InvokeResponse>;
}

export interface HttpCmdletHostOptions {
  url: string;
  token?: string;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** The server the shell means to manage (found in the directory): any other server that answers at its address is refused. */
  server?: string;
}

export function createHttpCmdletHost(options: HttpCmdletHostOptions): CmdletHost {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const headers = (): Record<string, string> => {
    const h: Record<string, string> = { accept: 'application/json' };
    if (options.token) h.authorization = `Bearer ${options.token}`;
    if (options.server) h[INTENDED_SERVER_HEADER] = options.server;
    return h;
  };

  /** The directory's address for a server reached another one (127.0.0.1 advertised, seen from another host). */
  function checkAnswering(res: Response): void {
    const answering = res.headers.get(ANSWERING_SERVER_HEADER);
    if (options.server && answering && !sameServer(answering, options.server)) {
      throw new InterchangeError('ICX_SERVER_MISMATCH', `${base}, the admin address of ${options.server}, is answered by ${answering}. Start ${options.server} with --advertise-url set to an address this host reaches it at, or pass --url.`);
    }
  }

  async function request(path: string, init: RequestInit): Promise<Response> {
    try {
      return await doFetch(base + path, init);
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      if (e instanceof UntrustedCertificateError) {
        if (options.server) {
          throw new InterchangeError('ICX_SERVER_MISMATCH', `${base}, the admin address of ${options.server}, is answered with a certificate that is not ${options.server}'s IIS certificate, so another host answers there; nothing was run. Start ${options.server} with --advertise-url set to an address this host reaches it at, or pass --url.`, { cause: e });
        }
        throw new InterchangeError('ICX_TRANSPORT_UNREACHABLE', `The Interchange server at ${base} cannot be reached: ${e.message}`, { cause: e });
      }
      const cause = (e as Error & { cause?: Error }).cause;
      throw new InterchangeError('ICX_TRANSPORT_UNREACHABLE', `The Interchange server at ${base} cannot be reached: ${(e as Error).message}${cause?.message ? ` (${cause.message})` : ''}`, { cause: e });
    }
  }

  async function readJson(res: Response): Promise<unknown> {
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch {
      throw new InterchangeError('ICX_INTERNAL', `The server answered HTTP ${res.status} with a body that is not JSON.`);
    }
  }

  return {
    async listCmdlets() {
      const res = await request('/api/v1/cmdlets', { method: 'GET', headers: headers() });
      checkAnswering(res);
      const body = (await readJson(res)) as Partial<CmdletCatalog> & { error?: { code?: string; message?: string } };
      if (!res.ok) {
        const code = body.error?.code === 'ICX_AUTH_REQUIRED' || res.status === 401 ? 'ICX_AUTH_REQUIRED' : body.error?.code === 'ICX_ACCESS_DENIED' || res.status === 403 ? 'ICX_ACCESS_DENIED' : 'ICX_INTERNAL';
        throw new InterchangeError(code, body.error?.message ?? `The server answered HTTP ${res.status} to the cmdlet list request.`);
      }
      return { cmdlets: body.cmdlets ?? [], types: body.types ?? [] };
    },
    async invoke(name, req, opts = {}) {
      const res = await request(`/api/v1/cmdlets/${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { ...headers(), 'content-type': 'application/json' },
        body: JSON.stringify(req),
        signal: opts.signal,
      });
      const body = (await readJson(res)) as Partial<InvokeResponse>;
      if (typeof body.ok !== 'boolean') {
        throw new InterchangeError('ICX_INTERNAL', `The server answered HTTP ${res.status} without a cmdlet response.`);
      }
      return {
        ok: body.ok,
        cmdlet: body.cmdlet ?? name,
        output: body.output ?? [],
        warnings: body.warnings ?? [],
        whatIf: body.whatIf ?? [],
        errors: body.errors ?? [],
        error: body.error,
      };
    },
  };
}
