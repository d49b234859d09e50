import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'round-robin-fetch',
  input: 'udp',
  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
  schedule(_pkt, { next }) {
    return next.fetchAdd(0, 1) % 4;
  },
});
