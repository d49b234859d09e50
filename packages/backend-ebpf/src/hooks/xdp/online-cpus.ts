import { readFileSync } from 'node:fs';

const ONLINE_CPUS_PATH = '/sys/devices/system/cpu/online';

/** The CPU numbers of a kernel CPU list such as `0-3,8`. */
export function expandCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) throw new RangeError(`not a CPU list: '${list.trim()}'`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The CPUs online now: the default targets of the cpu-redirect hook. */
export function onlineCpus(): number[] {
  return expandCpuList(readFileSync(ONLINE_CPUS_PATH, 'utf8'));
}
