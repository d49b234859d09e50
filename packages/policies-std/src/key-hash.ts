import { definePolicy, PASS } from '@syrup/core';

// Request wire format (big-endian): bytes 0-3 type (0 GET, 1 SCAN, 2 PUT), 4-7 user id,
// 8-15 request id, 16-23 key.
const KEY_OFFSET = 16;
const REQUEST_LENGTH = 24;

/**
 * MurmurHash3's 64-bit finalizer (fmix64). Keys of a store are often small or sequential,
 * and `key % SOCKETS` would then map whole ranges, or every key with the same low bits, to
 * one socket; the finalizer makes every output bit depend on every input bit, so any range
 * of keys spreads evenly. Products wrap modulo 2^64, as every policy value does.
 */
function mix64(key: number): number {
  key ^= key >>> 33;
  key *= 0xff51afd7ed558ccd;
  key ^= key >>> 33;
  key *= 0xc4ceb9fe1a85ec53;
  key ^= key >>> 33;
  return key;
}

/**
 * MICA-style key partitioning: every request for a key goes to the key's home socket,
 * `mix64(key) % SOCKETS`, so each socket's thread owns one partition of the keys and never
 * shares it. A payload too short to hold the key passes to the default.
 */
export default definePolicy({
  name: 'key-hash',
  input: 'udp',
  params: { SOCKETS: 6 },
  schedule(pkt, _maps, { SOCKETS }) {
    if (pkt.payload.length < REQUEST_LENGTH) return PASS;
    return mix64(pkt.payload.u64(KEY_OFFSET)) % SOCKETS;
  },
});
