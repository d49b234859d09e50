import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'mod-by-param',
  input: 'udp',
  params: { BIG: 3000000001 },
  schedule(pkt, _maps, { BIG }) {
    return pkt.hash % BIG;
  },
});
