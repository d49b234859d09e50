import { definePolicy, PASS } from '@syrup/core';

export default definePolicy({
  name: 'compare-exchange',
  input: 'udp',
  maps: { owner: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 64 } },
  schedule(pkt, { owner }) {
    owner.compareExchange(pkt.srcPort, 0, 1);
    return PASS;
  },
});
