import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'read-and-add',
  input: 'udp',
  maps: { load: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 } },
  schedule(pkt, { load }) {
    const queue = pkt.srcPort & 3;
    load.fetchAdd(queue, 1);
    if (load.get(queue) > 100) return 0;
    return queue;
  },
});
