import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/**
 * Two network namespaces joined by a veth pair, made with `ip` for one test file and always
 * removed (deleting a namespace destroys its end of the pair). Traffic between them never
 * touches the host's namespace: `a` is where programs attach, `b` where traffic comes from.
 */
export interface VethPair {
  readonly nsA: string;
  readonly nsB: string;
  readonly ifA: string;
  readonly ifB: string;
  readonly ipA: string;
  readonly ipB: string;
  readonly macA: string;
  readonly ifindexA: number;
  /** Deletes both namespaces; harmless twice or after a half-finished setup. */
  remove(): void;
}

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A unique short suffix: names must fit IFNAMSIZ (15) and never collide with a parallel run. */
export function uniqueSuffix(): string {
  return `${(process.pid % 46656).toString(36)}${randomBytes(3).toString('hex')}`;
}

export function createVethPair(): VethPair {
  const id = uniqueSuffix();
  const nsA = `syrup-a-${id}`;
  const nsB = `syrup-b-${id}`;
  const ifA = `sva${id}`;
  const ifB = `svb${id}`;
  const ipA = '10.199.0.1';
  const ipB = '10.199.0.2';
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

/** What `ip -d link show` reports about XDP on an interface: the mode and program ids, or nothing. */
export function xdpAttachment(ns: string, ifname: string): { mode: 'drv' | 'skb' | 'hw' | 'multi'; progIds: number[] } | undefined {
  const [link] = JSON.parse(ip('-n', ns, '-d', '-j', 'link', 'show', ifname)) as {
    xdp?: { mode?: number; prog?: { id: number }; attached?: { prog?: { id: number } }[] };
  }[];
  const xdp = link?.xdp;
  if (xdp === undefined) return undefined;
  const ids = new Set<number>();
  if (xdp.prog?.id !== undefined) ids.add(xdp.prog.id);
  for (const attached of xdp.attached ?? []) if (attached.prog?.id !== undefined) ids.add(attached.prog.id);
  // XDP_ATTACHED_DRV 1, SKB 2, HW 3, MULTI 4 (uapi/linux/if_link.h).
  const mode = ({ 1: 'drv', 2: 'skb', 3: 'hw', 4: 'multi' } as const)[xdp.mode as 1 | 2 | 3 | 4] ?? 'multi';
  return { mode, progIds: [...ids] };
}

/**
 * Sends `count` UDP datagrams from namespace `ns` to `host:port`, each `payload(i)`, in a
 * short-lived Node process run there (a socket lives in the namespace it was created in).
 */
export function sendUdp(ns: string, host: string, port: number, count: number, payload: (i: number) => number[] = (i) => [i & 0xff]): void {
  const datagrams = Array.from({ length: count }, (_, i) => payload(i));
  const script = `
    const s = require('node:dgram').createSocket('udp4');
    const all = ${JSON.stringify(datagrams)};
    let i = 0;
    const next = () => { if (i === all.length) { s.close(); return; } s.send(Buffer.from(all[i++]), ${port}, ${JSON.stringify(host)}, next); };
    next();`;
  execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
}
