import { definePolicy, now } from '@syrup/core';

export default definePolicy({
  name: 'time-slices',
  input: 'udp',
  params: { SLICE: 1000000 },
  schedule(_pkt, _maps, { SLICE }) {
    return (now() / SLICE) & 3;
  },
});
