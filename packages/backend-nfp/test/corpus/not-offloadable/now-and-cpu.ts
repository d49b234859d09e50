import { definePolicy, cpu, now } from '@syrup/core';

export default definePolicy({
  name: 'now-and-cpu',
  input: 'udp',
  maps: { last: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 64 } },
  schedule(_pkt, { last }) {
    last.set(cpu(), now());
    return 0;
  },
});
