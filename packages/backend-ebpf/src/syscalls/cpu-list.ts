/**
 * Counts the CPUs in a kernel CPU list such as `0-3,8,10-11` (the format of
 * /sys/devices/system/cpu/possible). The kernel sizes per-CPU values by this count
 * (num_possible_cpus), not by the highest number, so a sparse list counts what it names.
 */
export function countCpuList(list: string): number {
  let count = 0;
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) throw new RangeError(`not a CPU list: '${list.trim()}'`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw new RangeError(`not a CPU list: '${list.trim()}'`);
    count += last - first + 1;
  }
  if (count === 0) throw new RangeError(`not a CPU list: '${list.trim()}'`);
  return count;
}
