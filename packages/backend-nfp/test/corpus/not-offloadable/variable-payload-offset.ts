import { definePolicy, PASS } from '@syrup/core';

export default definePolicy({
  name: 'variable-payload-offset',
  input: 'udp',
  schedule(pkt) {
    if (pkt.payload.length < 64) return PASS;
    const at = pkt.payload.u8(0) & 31;
    return pkt.payload.u8(at) & 3;
  },
});
