import { definePolicy as policy, PASS as pass, DROP, random, now, cpu } from '@syrup/core';
import type { PolicyMap, UdpInput } from '@syrup/core';

const GET = 0;
const SCAN = 1;
const PUT = 2;
const MASK = 0xffff_ffff_ffff_ffff;
// 2^64 - 1, exact: literals are read from the source text, never through a double.
const HUGE = 18_446_744_073_709_551_615;

function requestType(pkt: UdpInput): number {
  return pkt.payload.u32(0);
}

function bump(counters: PolicyMap, key: number): void {
  counters.fetchAdd(key, 1);
}

// Returns DROP itself: allowed because schedule returns its call directly.
function admit(pkt: UdpInput, tokens: PolicyMap) {
  const user = pkt.payload.u32(4);
  const left = tokens.get(user);
  if (left === 0) return DROP;
  tokens.compareExchange(user, left, left - 1);
  return user % 2;
}

const spread = (x: number, n: number): number => (x * 0x9e3779b9) % n;

export const tour = policy({
  name: 'language-tour',
  input: 'udp',
  maps: {
    counters: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 16 },
    tokens: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 },
    seen: { kind: 'lru-hash', key: 'u32', value: 'u64', maxEntries: 2 },
    perCpu: { kind: 'percpu-array', key: 'u32', value: 'u64', maxEntries: 1 },
  },
  params: { SOCKETS: 4, SHIFT: 3 },
  schedule(pkt, maps, params) {
    const { counters, tokens } = maps;
    if (pkt.payload.length < 8) return pass;
    const type = requestType(pkt);
    bump(counters, type);
    maps.perCpu.fetchAdd(0, 1);
    maps.seen.set(pkt.srcPort, now());
    switch (type) {
      case GET:
      case PUT: {
        let socket = spread(pkt.hash, params.SOCKETS);
        for (let i = 0; i < params.SOCKETS; i++) {
          if (counters.get(100 + socket) === 0) break;
          socket = (socket + 1) % params.SOCKETS;
        }
        return socket;
      }
      case SCAN:
        return admit(pkt, tokens);
      default:
        break;
    }
    let acc = 0;
    for (let i = 10; i > 2; i -= 3) {
      if (i === 7) continue;
      acc += i << params.SHIFT;
    }
    acc ^= MASK;
    acc = ~acc;
    const r = random() % 2 === 0 || cpu() > 100 ? acc : acc;
    return type > 1000 ? DROP : (r + (HUGE >>> 63) + HUGE / 0) % params.SOCKETS;
  },
});
