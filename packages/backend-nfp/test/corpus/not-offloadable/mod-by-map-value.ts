import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'mod-by-map-value',
  input: 'udp',
  maps: { queues: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
  schedule(pkt, { queues }) {
    return pkt.hash % queues.get(0);
  },
});
