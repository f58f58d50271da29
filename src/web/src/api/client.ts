import type { CmdletInfo, InvokeResponse, ObjectTypeInfo, WireError, WireValue } from '../../../cmdlets/contract';

export type { CmdletInfo, InvokeResponse, WireError, WireValue };

export interface SessionInfo {
  name: string;
  roleGroups: string[];
  server: string;
}

export interface Catalog {
  cmdlets: CmdletInfo[];
  types: ObjectTypeInfo[];
}

/** One output object of a cmdlet, as the API sends it. */
export type CmdletObject = Record<string, unknown> & { $type?: string };

export class SignInError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * The admin center's only door to the server: the session routes and the
 * cmdlet API. The session cookie is HTTP-only, so this code never sees it;
 * `credentials: 'same-origin'` lets the browser send it.
 */
export class ApiClient {
  constructor(private readonly onSignedOut: () => void) {}

  async session(): Promise<SessionInfo | undefined> {
    const res = await fetch('/api/v1/session', { credentials: 'same-origin' });
    if (res.status === 401) return undefined;
    if (!res.ok) throw new Error(`The server answered ${res.status}.`);
    return (await res.json()) as SessionInfo;
  }

  async signIn(token: string): Promise<SessionInfo> {
    const res = await fetch('/api/v1/session', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    const body = (await res.json().catch(() => ({}))) as { error?: WireError } & Partial<SessionInfo>;
    if (!res.ok) throw new SignInError(body.error?.message ?? `Sign-in failed (${res.status}).`, res.status);
    return body as SessionInfo;
  }

  async signOut(): Promise<void> {
    await fetch('/api/v1/session', { method: 'DELETE', credentials: 'same-origin' });
    this.onSignedOut();
  }

  async catalog(): Promise<Catalog> {
    const res = await fetch('/api/v1/cmdlets', { credentials: 'same-origin' });
    if (res.status === 401) {
      this.onSignedOut();
      throw new Error('Your session has ended. Sign in again.');
    }
    return (await res.json()) as Catalog;
  }

  /**
   * Runs a cmdlet. `confirmed` is sent only after the page asked the
   * administrator itself (High-impact cmdlets refuse without it);
   * `answers` carries Yes/No replies to the cmdlet's own questions.
   */
  async invoke(name: string, parameters: Record<string, WireValue | undefined>, options: { confirmed?: boolean; answers?: Record<string, boolean>; whatIf?: boolean } = {}): Promise<InvokeResponse> {
    const clean: Record<string, WireValue> = {};
    for (const [k, v] of Object.entries(parameters)) if (v !== undefined) clean[k] = v;
    let res: Response;
    try {
      res = await fetch(`/api/v1/cmdlets/${encodeURIComponent(name)}`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ parameters: clean, confirmed: options.confirmed ?? false, answers: options.answers, whatIf: options.whatIf }),
      });
    } catch (e) {
      return failure(name, 'ICX_TRANSPORT_UNREACHABLE', `The admin center could not reach the server: ${(e as Error).message}`);
    }
    if (res.status === 401) {
      this.onSignedOut();
      return failure(name, 'ICX_AUTH_REQUIRED', 'Your session has ended. Sign in again.');
    }
    const body = (await res.json().catch(() => undefined)) as InvokeResponse | undefined;
    return body ?? failure(name, 'ICX_INTERNAL', `The server answered ${res.status} without a result.`);
  }
}

function failure(cmdlet: string, code: string, message: string): InvokeResponse {
  return { ok: false, cmdlet, output: [], warnings: [], whatIf: [], errors: [], error: { code, category: 'NotSpecified', message } };
}

/** Wire encodings of the contract. */
export const secure = (text: string): WireValue => ({ $secure: text });
export const bytes = (base64: string): WireValue => ({ $bytes: base64 });
