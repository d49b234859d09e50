import { definePolicy } from '@syrup/core';

/** Every datagram goes to the next socket in turn. */
export default definePolicy({
  name: 'round-robin',
  input: 'udp',
  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
  params: { SOCKETS: 6 },
  schedule(_pkt, { next }, { SOCKETS }) {
    return next.fetchAdd(0, 1) % SOCKETS;
  },
});
