import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lowerPoolPriority, POOL_NICE } from '../src/lower-pool-priority.js';

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
    const lowered = await lowerPoolPriority();
    const all = threads();
    const pool = all.filter((t) => t.name === 'libuv-worker');
    expect(pool.length).toBeGreaterThan(0);
    expect(lowered.sort()).toEqual(pool.map((t) => t.tid).sort());
    expect(pool.every((t) => t.nice === POOL_NICE)).toBe(true);
    expect(all.find((t) => t.tid === process.pid)?.nice).toBe(0);
  });
});
