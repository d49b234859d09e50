import { definePolicy, DROP } from '@syrup/core';

export default definePolicy({
  name: 'token-bucket',
  input: 'udp',
  maps: { tokens: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 16 } },
  schedule(pkt, { tokens }) {
    const user = pkt.srcPort & 15;
    const left = tokens.get(user);
    if (left === 0) return DROP;
    if (tokens.compareExchange(user, left, left - 1) !== left) return DROP;
    return user & 3;
  },
});
