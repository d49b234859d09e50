import { readFileSync } from 'node:fs';

/**
 * What bounds a SCHED_FIFO thread on this kernel: the global RT throttle
 * (`sched_rt_runtime_us` of every `sched_rt_period_us`; -1 means none), the RT runtime of the
 * process's cpu cgroup when RT group scheduling is on (a child group starts with 0, where
 * SCHED_FIFO fails with EPERM), and the deferrable fair server of kernels without RT groups.
 * Read once at start and reported, so a user knows the share a thread policy can take.
 */
export interface RtThrottlingReport {
  readonly runtimeUs: number | undefined;
  readonly periodUs: number | undefined;
  /** The cpu cgroup's RT runtime (cgroup v1 `cpu.rt_runtime_us`), when RT group scheduling is on. */
  readonly groupRuntimeUs: number | undefined;
  readonly groupPath: string | undefined;
  /** One sentence for logs and the deploy report. */
  readonly summary: string;
}

function readNumber(path: string): number | undefined {
  try {
    const value = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isNaN(value) ? undefined : value;
  } catch {
    return undefined;
  }
}

/** The cpu controller's cgroup v1 path of process `pid`, or undefined (cgroup v2 only, or unreadable). */
function cpuCgroupPath(pid: number | 'self'): string | undefined {
  try {
    for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
      const [, controllers, path] = line.split(':');
      if (controllers?.split(',').includes('cpu')) return path;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export function rtThrottlingReport(pid: number | 'self' = 'self'): RtThrottlingReport {
  const runtimeUs = readNumber('/proc/sys/kernel/sched_rt_runtime_us');
  const periodUs = readNumber('/proc/sys/kernel/sched_rt_period_us');
  const groupPath = cpuCgroupPath(pid);
  const groupRuntimeUs = groupPath === undefined ? undefined : readNumber(`/sys/fs/cgroup/cpu${groupPath === '/' ? '' : groupPath}/cpu.rt_runtime_us`);
  const share =
    runtimeUs === undefined || periodUs === undefined
      ? 'RT throttling settings are unreadable'
      : runtimeUs < 0
        ? 'RT throttling is off: a SCHED_FIFO thread can take a whole CPU'
        : `SCHED_FIFO threads get at most ${runtimeUs} us of every ${periodUs} us per CPU (${((100 * runtimeUs) / periodUs).toFixed(1)}%)`;
  const group =
    groupRuntimeUs === undefined
      ? 'RT group scheduling is off or not visible here (the fair server bounds FIFO instead where the kernel has one)'
      : `RT group scheduling is on and the cpu cgroup ${groupPath} has ${groupRuntimeUs} us of RT runtime${groupRuntimeUs === 0 ? ', so SCHED_FIFO fails there with EPERM' : ''}`;
  return { runtimeUs, periodUs, groupRuntimeUs, groupPath, summary: `${share}; ${group}.` };
}
