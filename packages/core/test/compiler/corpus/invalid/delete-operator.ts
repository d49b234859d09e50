// @ts-nocheck: a deliberately invalid policy, checked by the policy compiler's tests, not by tsc.
import { definePolicy, PASS, DROP, random } from '@syrup/core';

export default definePolicy({
  name: 'bad',
  input: 'udp',
  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 } },
  params: { SOCKETS: 4 },
  schedule(pkt, { next }, { SOCKETS }) {
    delete pkt.len;
    return 0;
  },
});
