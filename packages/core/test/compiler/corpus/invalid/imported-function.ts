// @ts-nocheck: a deliberately invalid policy, checked by the policy compiler's tests, not by tsc.
import { definePolicy, PASS, DROP, random } from '@syrup/core';

import { max } from 'lodash';
export default definePolicy({
  name: 'bad',
  input: 'udp',
  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 } },
  params: { SOCKETS: 4 },
  schedule(pkt, { next }, { SOCKETS }) {
    return max([pkt.len, SOCKETS]);
  },
});
