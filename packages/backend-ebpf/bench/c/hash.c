#include "syrup-xdp.h"

#define SOCKETS 6

SEC("xdp") int hash(struct xdp_md *ctx) {
  struct udp_view v;
  if (!parse_udp(ctx, &v)) return PASS();
  return EXECUTOR(flow_hash(&v) % SOCKETS);
}
