#define READS_PAYLOAD 1
#include "syrup-xdp.h"

#define SOCKETS 6
#define SCAN 1
MAP(next);

SEC("xdp") int sita(struct xdp_md *ctx) {
  struct udp_view v;
  if (!parse_udp(ctx, &v)) return PASS();
  if (v.length < 4) return PASS();
  __u32 type;
  if (!read_be32(&v, 0, &type)) return PASS();
  if (type == SCAN) return EXECUTOR(0);
  return EXECUTOR(1 + map_fetch_add(&next, 0, 1) % (SOCKETS - 1));
}
