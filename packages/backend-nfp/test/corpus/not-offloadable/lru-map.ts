import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'lru-map',
  input: 'udp',
  maps: { flows: { kind: 'lru-hash', key: 'u32', value: 'u64', maxEntries: 1024 } },
  schedule(pkt, { flows }) {
    return flows.get(pkt.srcPort) & 7;
  },
});
