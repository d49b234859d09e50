import { definePolicy, PASS, type PolicyMap } from '@syrup/core';

// Eleven values stay live across map calls and an inlined helper that itself calls a map:
// what a register allocator has to keep in callee-saved registers or spill.
function mix(counters: PolicyMap, a: number, b: number): number {
  return counters.fetchAdd(a % 64, b) ^ (a * 31 + b);
}

export default definePolicy({
  name: 'many-live-values',
  input: 'udp',
  maps: {
    counters: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 64 },
    stats: { kind: 'percpu-array', key: 'u32', value: 'u64', maxEntries: 8 },
  },
  params: { SOCKETS: 8 },
  schedule(pkt, { counters, stats }, { SOCKETS }) {
    if (pkt.payload.length < 24) return PASS;
    const kind = pkt.payload.u32(0);
    const user = pkt.payload.u32(4);
    const request = pkt.payload.u64(8);
    const key = pkt.payload.u64(16);
    const src = pkt.srcAddr;
    const port = pkt.srcPort;
    const hash = pkt.hash;
    const seen = counters.fetchAdd(user % 64, 1);
    const load = stats.fetchAdd(kind % 8, 1);
    const mixed = mix(counters, user, port);
    const current = counters.get(key % 64);
    return (kind + user + request + key + src + port + hash + seen + load + mixed + current) % SOCKETS;
  },
});
