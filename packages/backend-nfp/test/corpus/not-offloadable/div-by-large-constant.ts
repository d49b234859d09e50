import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'div-by-large-constant',
  input: 'packet',
  schedule(frame) {
    if (frame.data.length < 8) return 0;
    return frame.data.u64(0) / 6000000000;
  },
});
