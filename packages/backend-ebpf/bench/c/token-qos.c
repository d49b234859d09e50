#define READS_PAYLOAD 1
#include "syrup-xdp.h"

#define SOCKETS 6
#define LS_USER 0
#define RETRIES 4
MAP(tokens);
MAP(next);

/* Takes one token from user's bucket if it has one (decrement-if-positive by compare-exchange). */
INLINE int take_token(__u32 user, int attempts) {
  __u64 *bucket = bpf_map_lookup_elem(&tokens, &user);
  if (!bucket) return 0;
#pragma clang loop unroll(full)
  for (int i = 0; i < attempts; i++) {
    __u64 left = *bucket;
    if (left == 0) return 0;
    if (__sync_val_compare_and_swap(bucket, left, left - 1) == left) return 1;
  }
  return 0;
}

SEC("xdp") int token_qos(struct xdp_md *ctx) {
  struct udp_view v;
  if (!parse_udp(ctx, &v)) return PASS();
  if (v.length < 8) return PASS();
  __u32 user;
  if (!read_be32(&v, 4, &user)) return PASS();
  if (user == LS_USER) {
    if (!take_token(user, RETRIES)) return DROP();
  } else if (!take_token(user, 1)) {
    return DROP();
  }
  return EXECUTOR(map_fetch_add(&next, 0, 1) % SOCKETS);
}
