// @ts-nocheck: a deliberately invalid policy, checked by the policy compiler's tests, not by tsc.
import { definePolicy } from '@syrup/core';

const policy = definePolicy({
  name: 'hidden',
  input: 'udp',
  schedule(pkt) {
    return pkt.hash % 2;
  },
});
