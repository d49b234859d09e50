import koffi from 'koffi';

const PRIO_PROCESS = 0;

/**
 * Sets the calling thread's nice value (on Linux, setpriority(PRIO_PROCESS, 0) applies to the
 * calling thread only, not to the whole process); answers whether it took. Lowering needs no
 * privilege.
 */
export function setThisThreadNice(nice: number): boolean {
  const setpriority = koffi.load('libc.so.6').func('int setpriority(int which, unsigned int who, int prio)') as (which: number, who: number, prio: number) => number;
  return setpriority(PRIO_PROCESS, 0, nice) === 0;
}
