import { definePolicy, random } from '@syrup/core';

// Refused under the corpus's second profile only: one without bpf_get_prandom_u32.
export default definePolicy({
  name: 'random-without-firmware',
  input: 'udp',
  schedule() {
    return random() & 3;
  },
});
