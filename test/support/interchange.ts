import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { InvokeRequest, InvokeResponse, WireValue } from '../../src/cmdlets/contract.js';
import { freePort } from './smtp-tools.js';

export const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const CLI = path.join(REPO_ROOT, 'bin', 'interchange.js');

export async function tempDir(prefix: string): Promise<string> {
  return fs.promises.mkdtemp(path.join(os.tmpdir(), `icx-${prefix}-`));
}

/** A port the kernel just handed out and released: free for the test that asks next (never the same twice in this process). */
export function freeTcpPort(): Promise<number> {
  return freePort();
}

export interface ServerProcess {
  name: string;
  url: string;
  smtpPort: number;
  adminPort: number;
  token: string;
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `interchange serve` as a real process (the build in dist/ must be current: `npm run build`);
 * `launcher` runs it through another command, e.g. `ip netns exec <ns>` to start it on a lab host.
 */
export async function startServerProcess(opts: { dataDir: string; serverName: string; smtpPort?: number; adminPort?: number; env?: Record<string, string>; extraArgs?: string[]; cli?: string; launcher?: string[] }): Promise<ServerProcess> {
  const smtpPort = opts.smtpPort ?? (await freeTcpPort());
  const adminPort = opts.adminPort ?? (await freeTcpPort());
  const [command, ...prefix] = [...(opts.launcher ?? []), process.execPath];
  const child = spawn(command, [...prefix, opts.cli ?? CLI, 'serve', '--data', opts.dataDir, '--server', opts.serverName, '--smtp-port', String(smtpPort), '--admin-port', String(adminPort), ...(opts.extraArgs ?? [])], {
    env: { ...process.env, INTERCHANGE_LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!/admin center and API at (\S+),/.test(out)) {
    if (child.exitCode !== null) throw new Error(`interchange serve exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`interchange serve did not start within 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /admin center and API at (\S+),/.exec(out)![1];
  const token = fs.readFileSync(path.join(opts.dataDir, 'admin-token'), 'utf8').trim();
  return {
    name: opts.serverName,
    url,
    smtpPort,
    adminPort,
    token,
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
    },
  };
}

export interface ApiResult extends InvokeResponse {
  status: number;
}

/** The admin API as any front end uses it. */
export class AdminApi {
  constructor(
    readonly url: string,
    readonly token: string,
    /** How to reach it: a pinned fetch (src/security/pinned-fetch.ts) for an HTTPS admin API with its own certificate. */
    readonly call: typeof fetch = fetch,
  ) {}

  async invoke(cmdlet: string, parameters: Record<string, WireValue> = {}, extra: Omit<InvokeRequest, 'parameters'> = { confirmed: true }): Promise<ApiResult> {
    const res = await this.call(`${this.url}/api/v1/cmdlets/${cmdlet}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ parameters, ...extra }),
    });
    return { ...((await res.json()) as InvokeResponse), status: res.status };
  }

  /** Invokes and insists on success, returning the output objects. */
  async ok(cmdlet: string, parameters: Record<string, WireValue> = {}, extra?: Omit<InvokeRequest, 'parameters'>): Promise<Array<Record<string, any>>> {
    const r = await this.invoke(cmdlet, parameters, extra);
    if (!r.ok) throw new Error(`${cmdlet} failed: ${r.error?.code}: ${r.error?.message}`);
    return r.output as Array<Record<string, any>>;
  }
}

export const bytes = (b: Buffer): WireValue => ({ $bytes: b.toString('base64') });
export const secure = (s: string): WireValue => ({ $secure: s });

export interface TestOrganization {
  dataDir: string;
  servers: ServerProcess[];
  /** The admin API of a server of the organization (the first one by default). */
  api(server?: string): AdminApi;
  stop(): Promise<void>;
}

/** Server processes sharing one data folder: one organization, as `interchange serve` builds it. */
export async function startOrganization(prefix: string, names: string[]): Promise<TestOrganization> {
  const dataDir = await tempDir(prefix);
  const servers: ServerProcess[] = [];
  try {
    for (const name of names) servers.push(await startServerProcess({ dataDir, serverName: name }));
  } catch (e) {
    // A server that failed to start must not leave the ones before it running.
    for (const s of servers.reverse()) await s.stop().catch(() => undefined);
    await fs.promises.rm(dataDir, { recursive: true, force: true });
    throw e;
  }
  return {
    dataDir,
    servers,
    api(server = names[0]) {
      const s = servers.find((x) => x.name === server);
      if (!s) throw new Error(`no server ${server} in this organization`);
      return new AdminApi(s.url, s.token);
    },
    async stop() {
      for (const s of servers) await s.stop();
      await fs.promises.rm(dataDir, { recursive: true, force: true });
    },
  };
}
