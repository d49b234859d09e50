import { readFileSync } from 'node:fs';

/** /proc/<pid>/task/<tid>/stat counts CPU time in USER_HZ ticks, which Linux fixes at 100 per second here. */
const MS_PER_TICK = 10;

/** CPU time (user + system) thread `tid` of process `pid` has used so far, ms; undefined once it is gone. */
export function threadCpuMs(pid: number, tid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may contain spaces): state is [0], utime [11], stime [12].
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
  } catch {
    return undefined;
  }
}
