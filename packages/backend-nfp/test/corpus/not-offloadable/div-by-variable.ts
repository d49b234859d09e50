import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'div-by-variable',
  input: 'udp',
  schedule(pkt) {
    return pkt.len / (pkt.srcPort + 1);
  },
});
