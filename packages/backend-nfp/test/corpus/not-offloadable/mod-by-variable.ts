import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'mod-by-variable',
  input: 'udp',
  schedule(pkt) {
    return pkt.srcPort % pkt.dstPort;
  },
});
