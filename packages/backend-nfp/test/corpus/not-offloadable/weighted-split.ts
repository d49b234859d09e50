import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'weighted-split',
  input: 'udp',
  maps: { weights: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 2 } },
  schedule(pkt, { weights }) {
    const total = weights.get(0) + weights.get(1);
    return pkt.hash % total < weights.get(0) ? 0 : 1;
  },
});
