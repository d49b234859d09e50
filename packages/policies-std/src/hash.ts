import { definePolicy } from '@syrup/core';

/** A flow always goes to the same socket: the framework's flow hash of addresses and ports picks it. */
export default definePolicy({
  name: 'hash',
  input: 'udp',
  params: { SOCKETS: 6 },
  schedule(pkt, _maps, { SOCKETS }) {
    return pkt.hash % SOCKETS;
  },
});
