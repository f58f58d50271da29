// A lab of hosts on one machine: network namespaces (`ip netns`) on a bridge
// in the root namespace, so each "host" has its own loopback, its own ports
// and its own address, and 127.0.0.1 means a different server on each. The
// root namespace holds the bridge address (where a shared PostgreSQL
// listens). Needs root and iproute2 (scripts/install-test-deps.sh).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LabHost {
  /** The namespace, e.g. icx-lab-4242-1. */
  ns: string;
  /** Its address on the lab's bridge. */
  address: string;
  /** `ip netns exec <ns>`: prefix a command with this to run it on the host. */
  exec: string[];
}

export interface NamespaceLab {
  /** e.g. 10.213.17.0/24 */
  subnet: string;
  /** The root namespace's address on the bridge, which every host reaches. */
  bridgeAddress: string;
  hosts: LabHost[];
  /** Kills whatever still runs in the namespaces, deletes them, their links and the bridge. Safe to call twice. */
  destroy(): Promise<void>;
}

async function ip(args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (e) {
    throw new Error(`ip ${args.join(' ')}: ${((e as { stderr?: string }).stderr ?? String(e)).trim()}`);
  }
}

/** The IPv4 networks this machine already has addresses in, as their first three octets. */
function subnetsInUse(): Set<string> {
  const out = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  return new Set([...out.matchAll(/inet (\d+\.\d+\.\d+)\.\d+\//g)].map((m) => m[1]));
}

/**
 * A private /24 derived from the pid (so two runs on one machine differ), moved on until no
 * interface of this machine has an address in it.
 */
function chooseSubnet(): string {
  const used = subnetsInUse();
  for (let i = 0; i < 250 * 250; i++) {
    const n = (process.pid + i) % (250 * 250);
    const prefix = `10.${200 + Math.floor(n / 250) % 50}.${(n % 250) + 1}`;
    if (!used.has(prefix)) return prefix;
  }
  throw new Error('no free 10.x.y.0/24 for the lab');
}

/** Every namespace, veth and bridge this process creates, so an exit that skips the tests' `after` still removes them. */
const created = { namespaces: new Set<string>(), links: new Set<string>() };
let exitHookInstalled = false;
function removeAllSync(): void {
  for (const ns of created.namespaces) {
    killNamespaceSync(ns);
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
  for (const link of created.links) spawnSync('ip', ['link', 'del', link], { stdio: 'ignore' });
  created.namespaces.clear();
  created.links.clear();
}

function killNamespaceSync(ns: string): void {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  for (const pid of (r.stdout ?? '').split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Creates `count` namespaces on a new bridge: host i (1-based) at <subnet>.(10+i), the bridge at <subnet>.1. */
export async function createNamespaceLab(count: number): Promise<NamespaceLab> {
  if (!exitHookInstalled) {
    process.once('exit', removeAllSync);
    exitHookInstalled = true;
  }
  const tag = `${process.pid}`;
  const prefix = chooseSubnet();
  // Interface names are at most 15 characters.
  const bridge = `icxbr${tag}`.slice(0, 15);
  const lab: NamespaceLab = {
    subnet: `${prefix}.0/24`,
    bridgeAddress: `${prefix}.1`,
    hosts: [],
    async destroy() {
      for (const h of lab.hosts) {
        killNamespaceSync(h.ns);
        await ip(['netns', 'del', h.ns]).catch(() => undefined);
        created.namespaces.delete(h.ns);
      }
      for (const link of [...created.links].filter((l) => l === bridge || l.startsWith(`icx${tag}v`))) {
        // A veth goes with its namespace; the bridge stays until deleted.
        spawnSync('ip', ['link', 'del', link], { stdio: 'ignore' });
        created.links.delete(link);
      }
    },
  };
  try {
    await ip(['link', 'add', bridge, 'type', 'bridge']);
    created.links.add(bridge);
    await ip(['addr', 'add', `${lab.bridgeAddress}/24`, 'dev', bridge]);
    await ip(['link', 'set', bridge, 'up']);
    for (let i = 1; i <= count; i++) {
      const ns = `icx-lab-${tag}-${i}`;
      const outside = `icx${tag}v${i}`.slice(0, 15);
      const inside = `icx${tag}p${i}`.slice(0, 15);
      await ip(['netns', 'add', ns]);
      created.namespaces.add(ns);
      await ip(['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
      created.links.add(outside);
      await ip(['link', 'set', inside, 'netns', ns]);
      await ip(['link', 'set', outside, 'master', bridge]);
      await ip(['link', 'set', outside, 'up']);
      const address = `${prefix}.${10 + i}`;
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', ns, 'link', 'set', inside, 'name', 'eth0']);
      await ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      lab.hosts.push({ ns, address, exec: ['ip', 'netns', 'exec', ns] });
    }
  } catch (e) {
    await lab.destroy();
    throw e;
  }
  return lab;
}

/** The lab's namespaces left on this machine by any run (what a clean run leaves: none of its own). */
export function labNamespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith('icx-lab-'));
}
