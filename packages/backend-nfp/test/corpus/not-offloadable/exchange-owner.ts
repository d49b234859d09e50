import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'exchange-owner',
  input: 'udp',
  maps: { owner: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 256 } },
  schedule(pkt, { owner }) {
    const previous = owner.compareExchange(pkt.srcPort, 0, (pkt.dstPort & 3) + 1);
    return previous === 0 ? pkt.dstPort & 3 : previous - 1;
  },
});
