import { readFileSync } from 'node:fs';

/**
 * Field 22 of /proc/<pid>/stat: when the process started, in clock ticks after boot. With the
 * pid it names one process for the machine's uptime, which is how a pid recorded before a
 * restart is told apart from the same number reused by another process. Undefined when no
 * process has the pid. The command name (field 2) may hold spaces and parentheses, so fields
 * are counted after its last ')'.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // After "pid (comm) " come fields 3, 4, ...; field 22 is the 20th of them.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}
