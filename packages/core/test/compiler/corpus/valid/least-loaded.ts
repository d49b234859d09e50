import { definePolicy } from '@syrup/core';

/** Runs a thread on the least loaded core, preferring the one it last ran on. */
export default definePolicy({
  name: 'least-loaded',
  input: 'thread',
  maps: { load: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 8 } },
  params: { CORES: 4 },
  schedule(thread, { load }, { CORES }) {
    let best = thread.lastCpu % CORES;
    let bestLoad = load.get(best);
    for (let core = 0; core < CORES; core++) {
      const coreLoad = load.get(core);
      if (coreLoad < bestLoad) {
        best = core;
        bestLoad = coreLoad;
      }
    }
    load.fetchAdd(best, 1);
    return best;
  },
});
