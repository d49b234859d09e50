import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'percpu-map',
  input: 'udp',
  maps: { counts: { kind: 'percpu-array', key: 'u32', value: 'u64', maxEntries: 4 } },
  schedule(_pkt, { counts }) {
    counts.fetchAdd(0, 1);
    return 1;
  },
});
