import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'least-loaded',
  input: 'udp',
  maps: { load: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 2 } },
  schedule(_pkt, { load }) {
    const queue = load.get(0) <= load.get(1) ? 0 : 1;
    load.fetchAdd(queue, 1);
    return queue;
  },
});
