import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getPriority } from 'node:os';
import { lowerPoolPriority, POOL_NICE_STEPS } from '../src/lower-pool-priority.js';

/** Nice value and name of each thread of this process, from /proc (the nice value is field 19 of stat). */
function threads(): { tid: number; name: string; nice: number }[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { tid: Number(tid), name: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(), nice: Number(fields[16]) };
  });
}

describe('lowerPoolPriority', () => {
  it("renices exactly libuv's pool threads, and not the thread that runs the event loop", async () => {
    // Relative to the loop's nice value: the tests may themselves run under `nice`.
    const loop = getPriority(0);
    const lowered = await lowerPoolPriority();
    const all = threads();
    const pool = all.filter((t) => t.name === 'libuv-worker');
    expect(pool.length).toBeGreaterThan(0);
    expect(lowered.sort()).toEqual(pool.map((t) => t.tid).sort());
    expect(pool.every((t) => t.nice === Math.min(19, loop + POOL_NICE_STEPS))).toBe(true);
    expect(all.find((t) => t.tid === process.pid)?.nice).toBe(loop);
  });
});
