import { definePolicy, DROP, PASS, type PolicyMap } from '@syrup/core';

// Request wire format (big-endian): bytes 0-3 type (0 GET, 1 SCAN, 2 PUT), 4-7 user id,
// 8-15 request id, 16-23 key.

/**
 * Takes one token from `user`'s bucket if it has one: a decrement-if-positive made of
 * compare-exchange, retried up to `attempts` times when another CPU changed the bucket
 * in between. Answers 1 when a token was taken, 0 otherwise.
 */
function takeToken(tokens: PolicyMap, user: number, attempts: number): number {
  for (let i = 0; i < attempts; i++) {
    const left = tokens.get(user);
    if (left === 0) return 0;
    if (tokens.compareExchange(user, left, left - 1) === left) return 1;
  }
  return 0;
}

/**
 * Token-based admission for two classes of users. Every user has a bucket in `tokens`,
 * indexed by the user id in bytes 4-7 (ids below 1024; others have no bucket), refilled by a
 * `TokenRefiller` in userspace: the latency-sensitive user LS_USER first, best-effort users
 * with what its bucket cannot hold. A request without a token is dropped. The latency-sensitive
 * user retries the compare-exchange up to RETRIES times under contention; a best-effort user
 * tries once, so it never spends time fighting over spare tokens. Admitted requests go round
 * robin.
 */
export default definePolicy({
  name: 'token-qos',
  input: 'udp',
  maps: {
    tokens: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1024 },
    next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 },
  },
  params: { SOCKETS: 6, LS_USER: 0, RETRIES: 4 },
  schedule(pkt, { tokens, next }, { SOCKETS, LS_USER, RETRIES }) {
    if (pkt.payload.length < 8) return PASS;
    const user = pkt.payload.u32(4);
    if (user === LS_USER) {
      if (!takeToken(tokens, user, RETRIES)) return DROP;
    } else if (!takeToken(tokens, user, 1)) {
      return DROP;
    }
    return next.fetchAdd(0, 1) % SOCKETS;
  },
});
