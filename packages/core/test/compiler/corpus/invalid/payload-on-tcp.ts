// @ts-nocheck: a deliberately invalid policy, checked by the policy compiler's tests, not by tsc.
import { definePolicy, PASS, DROP, random } from '@syrup/core';

export default definePolicy({
  name: 'bad',
  input: 'tcp',
  maps: {},
  params: { SOCKETS: 4 },
  schedule(pkt) {
    return pkt.payload.u8(0);
  },
});
