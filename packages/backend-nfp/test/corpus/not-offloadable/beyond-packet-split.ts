import { definePolicy, PASS } from '@syrup/core';

export default definePolicy({
  name: 'beyond-packet-split',
  input: 'udp',
  schedule(pkt) {
    if (pkt.payload.length < 200) return PASS;
    return pkt.payload.u32(180) & 7;
  },
});
