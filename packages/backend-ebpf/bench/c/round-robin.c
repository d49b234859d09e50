#include "syrup-xdp.h"

#define SOCKETS 6
MAP(next);

SEC("xdp") int round_robin(struct xdp_md *ctx) {
  struct udp_view v;
  if (!parse_udp(ctx, &v)) return PASS();
  return EXECUTOR(map_fetch_add(&next, 0, 1) % SOCKETS);
}
