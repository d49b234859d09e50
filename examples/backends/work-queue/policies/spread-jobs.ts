import { definePolicy } from '@syrup/core';

/**
 * Spreads jobs over the worker queues by how many datagrams a socket-select policy sharing
 * `seen` has counted (seen[0]), and counts the jobs it scheduled in seen[1], which that policy
 * reads back: a value written at each hook is read at the other.
 */
export default definePolicy({
  name: 'spread-jobs',
  input: 'udp',
  maps: { seen: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 } },
  params: { WORKERS: 3 },
  schedule(_job, { seen }, { WORKERS }) {
    seen.fetchAdd(1, 1);
    return seen.get(0) % WORKERS;
  },
});
