import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'hash-by-length',
  input: 'packet',
  schedule(frame) {
    return frame.length % (frame.data.length & 7);
  },
});
