import { definePolicy, PASS } from '@syrup/core';

// Request wire format (big-endian): bytes 0-3 type (0 GET, 1 SCAN, 2 PUT), 4-7 user id,
// 8-15 request id, 16-23 key.
const SCAN = 1;

/**
 * Size-interval task assignment: long SCANs get socket 0 to themselves, so they never queue
 * in front of short requests, which go round robin over the other sockets.
 */
export default definePolicy({
  name: 'sita',
  input: 'udp',
  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
  params: { SOCKETS: 6 },
  schedule(pkt, { next }, { SOCKETS }) {
    if (pkt.payload.length < 4) return PASS;
    if (pkt.payload.u32(0) === SCAN) return 0;
    return 1 + (next.fetchAdd(0, 1) % (SOCKETS - 1));
  },
});
