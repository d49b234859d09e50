import { definePolicy, PASS } from '@syrup/core';

export default definePolicy({
  name: 'path-explosion',
  input: 'udp',
  params: {},
  schedule(pkt) {
    if (pkt.payload.length < 8) return PASS;
    const bits = pkt.payload.u64(0);
    let x = 0;
    for (let i = 0; i < 24; i++) {
      if ((bits >> i) & 1) {
        x = x * 2 + 1;
      } else {
        x = x * 2;
      }
    }
    if (x === 12345) return 1;
    return 0;
  },
});
