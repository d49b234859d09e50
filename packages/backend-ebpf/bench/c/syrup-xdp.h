/*
 * The C reference for the policy benchmark (bench/kernel.bench.ts): what the code generator's
 * xdp-skb build does, written by hand for clang -O2 -target bpf -mcpu=v3. Same prologue
 * semantics as src/codegen/prologues/xdp.ts: Ethernet with at most one VLAN tag (802.1Q or
 * 802.1ad), IPv4 with options (no non-first fragments) or IPv6 without extension headers, UDP
 * to PORT only; the payload length comes from the UDP length field; every payload read is
 * checked against both that length and data_end, and a failed check answers XDP_PASS. An
 * executor key below 2^32 goes to bpf_redirect_map(&executors, key, XDP_PASS), PASS is
 * XDP_PASS, DROP is XDP_DROP.
 *
 * Self-contained (no libbpf, no kernel headers: the bpf target has no asm/ include directory).
 * Maps are plain symbols in a "maps" section: the benchmark reads the object's relocations
 * (R_BPF_64_64 against these symbols) and patches in the fds of maps it creates itself, with the
 * shapes the TypeScript policies declare.
 *
 * Built with -DSYRUP_CHECK, the endings record the decision in the `result` array (key 0: kind,
 * 0 executor, 1 PASS, 2 DROP; key 1: the executor key) and return XDP_PASS, like the code
 * generator's test harness, so the benchmark can check both make the same decisions.
 */
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

struct xdp_md {
  __u32 data;
  __u32 data_end;
  __u32 data_meta;
  __u32 ingress_ifindex;
  __u32 rx_queue_index;
  __u32 egress_ifindex;
};

enum { XDP_ABORTED = 0, XDP_DROP = 1, XDP_PASS = 2 };

#define SEC(name) __attribute__((section(name), used))
#define INLINE static inline __attribute__((always_inline))

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_redirect_map)(void *map, __u64 key, __u64 flags) = (void *)51;

/* A map is only a name here; its kernel object comes from the benchmark. */
#define MAP(name) struct { int unused; } name SEC("maps")

#ifndef PORT
#define PORT 9000
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";

MAP(executors);
#ifdef SYRUP_CHECK
MAP(result);
INLINE int record(__u64 kind, __u64 key) {
  __u32 k = 1;
  bpf_map_update_elem(&result, &k, &key, 0);
  k = 0;
  bpf_map_update_elem(&result, &k, &kind, 0);
  return XDP_PASS;
}
#define PASS() record(1, 0)
#define DROP() record(2, 0)
#define EXECUTOR(k) record(0, (k))
#else
#define PASS() XDP_PASS
#define DROP() XDP_DROP
/* Keys of 2^32 or more answer PASS, as in the generated epilogue. */
#define EXECUTOR(k) executor(k)
INLINE int executor(__u64 key) {
  if (key >> 32) return XDP_PASS;
  return bpf_redirect_map(&executors, key, XDP_PASS);
}
#endif

/* A parsed datagram: its payload and the fields the policies read. */
struct udp_view {
  const __u8 *payload;
  const __u8 *end;
  __u64 length; /* with READS_PAYLOAD only */
  __u32 src_addr;
  __u32 dst_addr;
  __u16 src_port;
  __u16 dst_port;
};

INLINE __u16 be16(__u16 x) { return __builtin_bswap16(x); }
INLINE __u32 be32(__u32 x) { return __builtin_bswap32(x); }

INLINE __u32 fold_ipv6(const __u8 *a) {
  const __u32 *w = (const __u32 *)a;
  return be32(w[0] ^ w[1] ^ w[2] ^ w[3]);
}

/* 0 when the frame is not a UDP datagram to PORT: the policy does not run, the frame passes. */
INLINE int parse_udp(struct xdp_md *ctx, struct udp_view *v) {
  const __u8 *p = (const __u8 *)(long)ctx->data;
  const __u8 *end = (const __u8 *)(long)ctx->data_end;
  if (p + 14 > end) return 0;
  __u16 proto = *(const __u16 *)(p + 12);
  if (proto == be16(0x8100) || proto == be16(0x88a8)) {
    if (p + 18 > end) return 0;
    proto = *(const __u16 *)(p + 16);
    p += 4;
  }
  const __u8 *udp;
  if (proto == be16(0x0800)) {
    const __u8 *ip = p + 14;
    if (ip + 20 > end) return 0;
    __u8 vihl = ip[0];
    if ((vihl >> 4) != 4 || ip[9] != 17) return 0;
    if (*(const __u16 *)(ip + 6) & be16(0x1fff)) return 0;
    __u32 ihl = vihl & 0x0f;
    if (ihl < 5) return 0;
    v->src_addr = be32(*(const __u32 *)(ip + 12));
    v->dst_addr = be32(*(const __u32 *)(ip + 16));
    udp = ip + ihl * 4;
  } else if (proto == be16(0x86dd)) {
    const __u8 *ip = p + 14;
    if (ip + 40 > end) return 0;
    if (ip[6] != 17) return 0;
    v->src_addr = fold_ipv6(ip + 8);
    v->dst_addr = fold_ipv6(ip + 24);
    udp = ip + 40;
  } else {
    return 0;
  }
  if (udp + 8 > end) return 0;
  if (be16(*(const __u16 *)(udp + 2)) != PORT) return 0;
  v->src_port = be16(*(const __u16 *)udp);
  v->dst_port = be16(*(const __u16 *)(udp + 2));
#ifdef READS_PAYLOAD
  /* As the generated prologue: the UDP length is only parsed (and a length below 8 refused) when the policy reads the payload. */
  __u16 len = be16(*(const __u16 *)(udp + 4));
  if (len < 8) return 0;
  v->length = len - 8;
#endif
  v->payload = udp + 8;
  v->end = end;
  return 1;
}

#ifdef READS_PAYLOAD
/* *out = the big-endian u32 at payload[off]; 0 when it is past the payload or the frame. */
INLINE int read_be32(const struct udp_view *v, __u64 off, __u32 *out) {
  if (v->length < off + 4) return 0;
  if (v->payload + off + 4 > v->end) return 0;
  *out = be32(*(const __u32 *)(v->payload + off));
  return 1;
}
#endif

/* An array map's value at key, or 0 when there is none. */
INLINE __u64 map_get(void *map, __u32 key) {
  __u64 *value = bpf_map_lookup_elem(map, &key);
  return value ? *value : 0;
}

/* fetchAdd on an array map: the old value, or 0 (and no write) when the key is out of range. */
INLINE __u64 map_fetch_add(void *map, __u32 key, __u64 delta) {
  __u64 *value = bpf_map_lookup_elem(map, &key);
  return value ? __sync_fetch_and_add(value, delta) : 0;
}

/* The framework's flow hash (core's flowHash), bit for bit. */
INLINE __u32 flow_hash(const struct udp_view *v) {
  __u64 addresses = ((__u64)v->src_addr << 32) | v->dst_addr;
  __u64 ports = ((__u64)v->src_port << 16) | v->dst_port;
  __u64 x = addresses ^ (ports * 0x9e3779b97f4a7c15ull);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return (__u32)x;
}
