import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'counter-and-mod',
  input: 'udp',
  maps: { bytes: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 64 } },
  schedule(pkt, { bytes }) {
    bytes.fetchAdd(pkt.srcPort, pkt.len);
    return pkt.len % (pkt.srcPort | 1);
  },
});
