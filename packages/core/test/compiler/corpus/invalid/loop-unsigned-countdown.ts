// @ts-nocheck: a deliberately invalid policy, checked by the policy compiler's tests, not by tsc.
import { definePolicy, PASS, DROP, random, now } from '@syrup/core';

export default definePolicy({
  name: 'bad',
  input: 'udp',
  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 } },
  params: { SOCKETS: 4 },
  schedule(pkt, { next }, { SOCKETS }) {
    let n = 0;
    // Values are unsigned: i >= 0 always holds, so this loop never ends.
    for (let i = 3; i >= 0; i--) n += i;
    return n;
  },
});
