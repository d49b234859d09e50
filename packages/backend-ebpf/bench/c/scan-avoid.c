#define READS_PAYLOAD 1
#include "syrup-xdp.h"

#define SOCKETS 6
#define SCAN 1
MAP(busy);
MAP(next);

SEC("xdp") int scan_avoid(struct xdp_md *ctx) {
  struct udp_view v;
  if (!parse_udp(ctx, &v)) return PASS();
  if (v.length < 4) return PASS();
  __u32 type;
  if (!read_be32(&v, 0, &type)) return PASS();
  if (type == SCAN) {
#pragma clang loop unroll(full)
    for (__u32 socket = 0; socket < SOCKETS; socket++) {
      if (map_get(&busy, socket) == 0) return EXECUTOR(socket);
    }
    return EXECUTOR(map_fetch_add(&next, 0, 1) % SOCKETS);
  }
  __u64 start = map_fetch_add(&next, 0, 1) % SOCKETS;
#pragma clang loop unroll(full)
  for (__u32 i = 0; i < SOCKETS; i++) {
    __u64 socket = (start + i) % SOCKETS;
    if (map_get(&busy, socket) == 0) return EXECUTOR(socket);
  }
  return EXECUTOR(start);
}
