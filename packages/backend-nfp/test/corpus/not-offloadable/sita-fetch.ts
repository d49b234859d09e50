import { definePolicy, PASS } from '@syrup/core';

export default definePolicy({
  name: 'sita-fetch',
  input: 'udp',
  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
  schedule(pkt, { next }) {
    if (pkt.payload.length < 4) return PASS;
    if (pkt.payload.u32(0) === 1) return 0;
    return (next.fetchAdd(0, 1) % 5) + 1;
  },
});
