import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/**
 * Two network namespaces made for one test, joined by a veth pair: `nsA` holds the interface
 * an XDP policy attaches to, `nsB` is where datagrams come from. Nothing touches the host's
 * namespace; `remove()` deletes both (and so the pair), harmlessly twice.
 */
export interface VethPair {
  readonly nsA: string;
  readonly nsB: string;
  readonly ifA: string;
  readonly ipA: string;
  remove(): void;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function createVethPair(prefix: string): VethPair {
  const id = randomBytes(4).toString('hex');
  const nsA = `${prefix}-a-${id}`;
  const nsB = `${prefix}-b-${id}`;
  // IFNAMSIZ is 16 with the NUL: 'rva' + 8 hex.
  const ifA = `rva${id}`;
  const ifB = `rvb${id}`;
  const ipA = '10.197.0.1';
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
    ip('-n', nsB, 'addr', 'add', '10.197.0.2/24', 'dev', ifB);
    for (const [ns, dev] of [[nsA, ifA], [nsB, ifB], [nsA, 'lo'], [nsB, 'lo']] as const) ip('-n', ns, 'link', 'set', dev, 'up');
    const [link] = JSON.parse(ip('-n', nsA, '-j', 'link', 'show', ifA)) as { address: string }[];
    // A static neighbour: no ARP, so the only frames the policy sees are the test's datagrams.
    ip('-n', nsB, 'neigh', 'add', ipA, 'lladdr', link?.address ?? '', 'dev', ifB, 'nud', 'permanent');
    return { nsA, nsB, ifA, ipA, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

/** Sends `count` one-byte UDP datagrams from namespace `ns` to `host:port`. */
export function sendFrom(ns: string, host: string, port: number, count: number): void {
  const script = `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(${count}):\n    s.sendto(bytes([i & 255]), (${JSON.stringify(host)}, ${port}))\n`;
  execFileSync('ip', ['netns', 'exec', ns, '/usr/bin/env', 'python3', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
}
