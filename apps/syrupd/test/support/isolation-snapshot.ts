import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SyrupClient, WireDeploymentInfo } from '@syrup/runtime';

/** Everything a cross-tenant attempt could have changed, as root sees it. */
export interface IsolationSnapshot {
  /** `syrup ls` as root, by id. */
  readonly deployments: readonly WireDeploymentInfo[];
  /** Every map of every deployment, dumped as root: deployment id -> map -> [key, value][]. */
  readonly maps: Readonly<Record<string, Readonly<Record<string, readonly (readonly [number, string])[]>>>>;
  /** The pin root's tree: path, owner uid and gid, mode. */
  readonly pins: readonly string[];
  /** Ids of the BPF programs, maps and links the daemon holds (its /proc/<pid>/fdinfo), sorted. */
  readonly daemonObjects: { readonly progs: readonly number[]; readonly maps: readonly number[]; readonly links: readonly number[] };
  /** The XDP program ids `ip -d -j link` reports on the interface (the dispatcher). */
  readonly xdpProgIds: readonly number[];
}

export async function takeSnapshot(root: SyrupClient, options: { pinRoot: string; daemonPid: number; netns: string; ifname: string }): Promise<IsolationSnapshot> {
  const deployments = [...(await root.deployments())].sort((a, b) => a.id.localeCompare(b.id));
  const maps: Record<string, Record<string, (readonly [number, string])[]>> = {};
  for (const info of deployments) {
    const d = await root.deployment(info.id);
    const dumped: Record<string, (readonly [number, string])[]> = {};
    for (const name of info.maps) dumped[name] = ((await d.maps[name]?.dump()) ?? []).map(([k, v]) => [k, String(v)] as const);
    maps[info.id] = dumped;
  }
  return { deployments, maps, pins: pinTree(options.pinRoot), daemonObjects: bpfObjectsOf(options.daemonPid), xdpProgIds: xdpProgIds(options.netns, options.ifname) };
}

/** `path uid:gid mode` for the pin root and everything under it; empty when it does not exist. */
export function pinTree(pinRoot: string): string[] {
  if (!existsSync(pinRoot)) return [];
  const out: string[] = [];
  const walk = (path: string): void => {
    const stat = lstatSync(path);
    out.push(`${relative(pinRoot, path) || '.'} ${stat.uid}:${stat.gid} ${(stat.mode & 0o7777).toString(8)}`);
    if (stat.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
  };
  walk(pinRoot);
  return out;
}

/** Pinned files (not directories) under the pin root, with their owner uid. */
export function pinnedFiles(pinRoot: string): { path: string; uid: number; mode: number }[] {
  if (!existsSync(pinRoot)) return [];
  const out: { path: string; uid: number; mode: number }[] = [];
  const walk = (path: string): void => {
    const stat = lstatSync(path);
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    else out.push({ path, uid: stat.uid, mode: stat.mode & 0o7777 });
  };
  walk(pinRoot);
  return out;
}

/** The prog_id / map_id / link_id lines of a process's fdinfo: the kernel's ids of the BPF objects it holds. */
export function bpfObjectsOf(pid: number): { progs: number[]; maps: number[]; links: number[] } {
  const ids = { progs: new Set<number>(), maps: new Set<number>(), links: new Set<number>() };
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const match = /^(prog|map|link)_id:\s+(\d+)$/m.exec(text);
    if (match?.[1] !== undefined) ids[`${match[1] as 'prog' | 'map' | 'link'}s`].add(Number(match[2]));
  }
  const sorted = (s: Set<number>): number[] => [...s].sort((a, b) => a - b);
  return { progs: sorted(ids.progs), maps: sorted(ids.maps), links: sorted(ids.links) };
}

/** XDP program ids on an interface, from `ip -d -j link show`. */
export function xdpProgIds(netns: string, ifname: string): number[] {
  const [link] = JSON.parse(execFileSync('ip', ['-n', netns, '-d', '-j', 'link', 'show', ifname], { encoding: 'utf8' })) as {
    xdp?: { prog?: { id: number }; attached?: { prog?: { id: number } }[] };
  }[];
  const ids = new Set<number>();
  if (link?.xdp?.prog?.id !== undefined) ids.add(link.xdp.prog.id);
  for (const attached of link?.xdp?.attached ?? []) if (attached.prog?.id !== undefined) ids.add(attached.prog.id);
  return [...ids].sort((a, b) => a - b);
}
