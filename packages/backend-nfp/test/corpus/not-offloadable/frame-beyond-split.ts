import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'frame-beyond-split',
  input: 'packet',
  schedule(frame) {
    if (frame.data.length < 400) return 0;
    return frame.data.u16(300) & 1;
  },
});
