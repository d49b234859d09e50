import { execFileSync } from 'node:child_process';
import { createVethNamespaces, ip, uniqueSuffix, type VethNamespaces } from '@syrup/test-support/veth-namespaces';

export { ip, uniqueSuffix };

/** Two network namespaces joined by a veth pair (the shared helper): `a` is where programs attach, `b` where traffic comes from. */
export type VethPair = VethNamespaces;

export function createVethPair(): VethPair {
  return createVethNamespaces();
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
