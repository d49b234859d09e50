import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'set-nonzero-counter',
  input: 'udp',
  maps: { seen: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 128 } },
  schedule(pkt, { seen }) {
    seen.fetchAdd(pkt.srcPort, 1);
    seen.set(pkt.dstPort, 5);
    return 0;
  },
});
