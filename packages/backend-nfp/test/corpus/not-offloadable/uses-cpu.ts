import { definePolicy, cpu } from '@syrup/core';

export default definePolicy({
  name: 'uses-cpu',
  input: 'udp',
  schedule() {
    return cpu();
  },
});
