const MASK64 = (1n << 64n) - 1n;

/** key-hash's mixing function (policies-std/src/key-hash.ts), in u64 arithmetic. */
function mix64(key: bigint): bigint {
  let k = key & MASK64;
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & MASK64;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & MASK64;
  k ^= k >> 33n;
  return k;
}

/**
 * The home thread of `key` among `threads`: the partition that owns it (MICA's EREW), and the
 * socket key-hash at xdp-drv steers it to, so under key-hash every request arrives at home.
 */
export function keyHome(key: bigint, threads: number): number {
  return Number(mix64(key) % BigInt(threads));
}
