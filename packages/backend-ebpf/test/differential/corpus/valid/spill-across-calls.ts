import { definePolicy, PASS } from '@syrup/core';

// Ten values read from the datagram stay live across every map call of the loop below: more
// than the four callee-saved registers (r6-r9) hold, so the code generator has to keep some on
// the stack and reload them after each helper call.
export default definePolicy({
  name: 'spill-across-calls',
  input: 'udp',
  maps: {
    hits: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 8 },
    totals: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 },
    perCpu: { kind: 'percpu-array', key: 'u32', value: 'u64', maxEntries: 2 },
  },
  params: { SOCKETS: 5 },
  schedule(pkt, { hits, totals, perCpu }, { SOCKETS }) {
    if (pkt.payload.length < 16) return PASS;
    const a = pkt.payload.u8(0);
    const b = pkt.payload.u16(1);
    const c = pkt.payload.u32le(3);
    const d = pkt.payload.u64(8);
    const e = pkt.srcPort;
    const f = pkt.dstPort;
    const g = pkt.srcAddr;
    const h = pkt.dstAddr;
    const i = pkt.hash;
    const j = pkt.len;
    let acc = 0;
    for (let round = 0; round < 3; round++) {
      acc += hits.fetchAdd((a + round) % 8, b);
      acc ^= totals.compareExchange(round, acc, c);
      perCpu.fetchAdd(round % 2, 1);
      if (hits.get(e % 8) > d) hits.delete(f % 8);
    }
    totals.set(3, a + b + c + d + e + f + g + h + i + j);
    return (acc + a * b + c * d + e * f + g * h + i * j) % SOCKETS;
  },
});
