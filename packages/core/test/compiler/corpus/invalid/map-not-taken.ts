// @ts-nocheck: a deliberately invalid policy, checked by the policy compiler's tests, not by tsc.
import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'bad',
  input: 'udp',
  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 }, counts: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
  schedule(_pkt, { next }) {
    counts.fetchAdd(0, 1);
    return next.get(0);
  },
});
