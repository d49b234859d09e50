import { definePolicy, DROP } from '@syrup/core';

export default definePolicy({
  name: 'fetch-in-condition',
  input: 'udp',
  maps: { admitted: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 64 } },
  schedule(pkt, { admitted }) {
    if (admitted.fetchAdd(pkt.srcPort, 1) > 1000) return DROP;
    return 2;
  },
});
