/*
 * The C reference for bench/kernel.bench.ts: bpf(BPF_MAP_LOOKUP_ELEM) and
 * bpf(BPF_MAP_UPDATE_ELEM) on a u32 -> u64 array, the same calls the TypeScript path makes,
 * straight through syscall(2). Prints one JSON line: {"lookupNs":..,"updateNs":..}.
 * Usage: map-syscall <iterations>
 */
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 200000;
  union bpf_attr create;
  memset(&create, 0, sizeof create);
  create.map_type = BPF_MAP_TYPE_ARRAY;
  create.key_size = 4;
  create.value_size = 8;
  create.max_entries = 64;
  int fd = (int)bpf(BPF_MAP_CREATE, &create);
  if (fd < 0) {
    perror("BPF_MAP_CREATE");
    return 1;
  }
  uint32_t key = 7;
  uint64_t value = 0;
  union bpf_attr elem;
  memset(&elem, 0, sizeof elem);
  elem.map_fd = (uint32_t)fd;
  elem.key = (uint64_t)(uintptr_t)&key;
  elem.value = (uint64_t)(uintptr_t)&value;
  for (long i = 0; i < iterations / 10; i++) bpf(BPF_MAP_LOOKUP_ELEM, &elem);
  uint64_t t0 = now_ns();
  for (long i = 0; i < iterations; i++) {
    if (bpf(BPF_MAP_LOOKUP_ELEM, &elem) < 0) return 2;
  }
  uint64_t t1 = now_ns();
  for (long i = 0; i < iterations; i++) {
    value = (uint64_t)i;
    if (bpf(BPF_MAP_UPDATE_ELEM, &elem) < 0) return 3;
  }
  uint64_t t2 = now_ns();
  printf("{\"lookupNs\":%.1f,\"updateNs\":%.1f}\n", (double)(t1 - t0) / iterations, (double)(t2 - t1) / iterations);
  close(fd);
  return 0;
}
