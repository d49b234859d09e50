// @ts-nocheck: a deliberately invalid policy, checked by the policy compiler's tests, not by tsc.
import { definePolicy, PASS, DROP, random } from '@syrup/core';

function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

export default definePolicy({
  name: 'bad',
  input: 'udp',
  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 } },
  params: { SOCKETS: 4 },
  schedule(pkt, { next }, { SOCKETS }) {
    return fib(pkt.len);
  },
});
