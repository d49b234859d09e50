import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/**
 * Two network namespaces made for one test file, joined by a veth pair: `nsA` holds the
 * interface programs attach to, `nsB` is where traffic comes from. Nothing touches the host's
 * namespace; `remove()` deletes both (and so the pair), harmlessly twice or after a
 * half-finished setup.
 */
export interface VethNamespaces {
  readonly nsA: string;
  readonly nsB: string;
  readonly ifA: string;
  readonly ifB: string;
  readonly ipA: string;
  readonly ipB: string;
  readonly macA: string;
  readonly ifindexA: number;
  remove(): void;
}

export interface VethNamespacesOptions {
  /** Namespace names are `<prefix>-a-<id>` and `<prefix>-b-<id>`. Default `syrup`. */
  readonly prefix?: string;
  /** The /24 both ends live in, as its first three octets. Default `10.199.0`. */
  readonly subnet?: string;
}

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A unique short suffix: interface names must fit IFNAMSIZ (15) and never collide with a parallel run. */
export function uniqueSuffix(): string {
  return `${(process.pid % 46656).toString(36)}${randomBytes(3).toString('hex')}`;
}

export function createVethNamespaces(options: VethNamespacesOptions = {}): VethNamespaces {
  const id = uniqueSuffix();
  const prefix = options.prefix ?? 'syrup';
  const subnet = options.subnet ?? '10.199.0';
  const nsA = `${prefix}-a-${id}`;
  const nsB = `${prefix}-b-${id}`;
  const ifA = `sva${id}`;
  const ifB = `svb${id}`;
  const ipA = `${subnet}.1`;
  const ipB = `${subnet}.2`;
  const remove = (): void => {
    for (const ns of [nsA, nsB]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Never created, or already gone.
      }
    }
  };
  try {
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    ip('-n', nsA, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB);
    ip('-n', nsA, 'addr', 'add', `${ipA}/24`, 'dev', ifA);
    ip('-n', nsB, 'addr', 'add', `${ipB}/24`, 'dev', ifB);
    for (const [ns, dev] of [[nsA, ifA], [nsB, ifB], [nsA, 'lo'], [nsB, 'lo']] as const) ip('-n', ns, 'link', 'set', dev, 'up');
    const [link] = JSON.parse(ip('-n', nsA, '-j', 'link', 'show', ifA)) as { address: string; ifindex: number }[];
    if (link === undefined) throw new Error(`interface ${ifA} vanished`);
    // A static neighbour: no ARP requests reach the programs under test, only the test's datagrams.
    ip('-n', nsB, 'neigh', 'add', ipA, 'lladdr', link.address, 'dev', ifB, 'nud', 'permanent');
    return { nsA, nsB, ifA, ifB, ipA, ipB, macA: link.address, ifindexA: link.ifindex, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

/** Sends `count` one-byte UDP datagrams from namespace `ns` to `host:port` (a short-lived Python run there as root). */
export function sendUdpFrom(ns: string, host: string, port: number, count: number): void {
  const script = `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(${count}):\n    s.sendto(bytes([i & 255]), (${JSON.stringify(host)}, ${port}))\n`;
  execFileSync('ip', ['netns', 'exec', ns, '/usr/bin/env', 'python3', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
}
