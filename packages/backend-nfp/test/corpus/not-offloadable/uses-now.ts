import { definePolicy, now } from '@syrup/core';

export default definePolicy({
  name: 'uses-now',
  input: 'udp',
  schedule() {
    return now() % 4;
  },
});
