import { definePolicy, PASS, type PolicyMap } from '@syrup/core';

// Request wire format (big-endian): bytes 0-3 type (0 GET, 1 SCAN, 2 PUT), 4-7 user id,
// 8-15 request id, 16-23 key.
const SCAN = 1;

/**
 * The first socket at or after `start` (wrapping around) that is not busy with a SCAN, or
 * `start` itself when every socket is busy.
 */
function firstIdle(busy: PolicyMap, start: number, sockets: number): number {
  for (let i = 0; i < sockets; i++) {
    const socket = (start + i) % sockets;
    if (busy.get(socket) === 0) return socket;
  }
  return start;
}

/**
 * Keeps short requests away from sockets that are serving a SCAN. `busy` has one entry per
 * socket, not 0 while that socket's thread works on a SCAN (the application keeps a count per
 * socket, with a `ScanTracker` or, best, from each serving thread itself through the mmapped
 * array right before it starts the SCAN, so no short request is steered there meanwhile). GETs and PUTs go round robin over the sockets that are not busy. A
 * SCAN takes the lowest-numbered idle socket, so SCANs occupy as few sockets as they can and
 * do not move the round robin of short requests. When every socket is busy, both fall back
 * to plain round robin. SOCKETS may be at most 64.
 */
export default definePolicy({
  name: 'scan-avoid',
  input: 'udp',
  maps: {
    busy: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 64 },
    next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 },
  },
  params: { SOCKETS: 6 },
  schedule(pkt, { busy, next }, { SOCKETS }) {
    if (pkt.payload.length < 4) return PASS;
    if (pkt.payload.u32(0) === SCAN) {
      for (let socket = 0; socket < SOCKETS; socket++) {
        if (busy.get(socket) === 0) return socket;
      }
      return next.fetchAdd(0, 1) % SOCKETS;
    }
    return firstIdle(busy, next.fetchAdd(0, 1) % SOCKETS, SOCKETS);
  },
});
