/**
 * Numbers from the kernel's UAPI `linux/bpf.h` that the backend uses. They are ABI, so they
 * never change once a kernel ships them; the comment gives the kernel that introduced each
 * group where it matters.
 */

/** `enum bpf_cmd`. */
export const BpfCommand = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_TEST_RUN: 10,
  OBJ_GET_INFO_BY_FD: 15,
  RAW_TRACEPOINT_OPEN: 17, // 4.17
  BTF_LOAD: 18,
  MAP_LOOKUP_BATCH: 24, // 5.6
  MAP_UPDATE_BATCH: 26, // 5.6
  LINK_CREATE: 28, // 5.7
  LINK_UPDATE: 29, // 5.7
  ENABLE_STATS: 32, // 5.8
  LINK_DETACH: 34, // 5.9
} as const;
export type BpfCommand = (typeof BpfCommand)[keyof typeof BpfCommand];

const COMMAND_NAMES = new Map<number, string>(Object.entries(BpfCommand).map(([name, value]) => [value, `BPF_${name}`]));

/** `BPF_MAP_CREATE` for 0: the name errors and logs use. */
export function bpfCommandName(command: number): string {
  return COMMAND_NAMES.get(command) ?? `BPF_CMD_${command}`;
}

/** `enum bpf_map_type` (the ones the framework uses). */
export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  DEVMAP: 14,
  SOCKMAP: 15,
  CPUMAP: 16,
  XSKMAP: 17,
  REUSEPORT_SOCKARRAY: 20,
  RINGBUF: 27,
} as const;
export type MapType = (typeof MapType)[keyof typeof MapType];

/** `enum bpf_prog_type` (the ones the framework uses). */
export const ProgType = {
  SOCKET_FILTER: 1,
  SCHED_CLS: 3,
  XDP: 6,
  RAW_TRACEPOINT: 17, // 4.17
  SK_REUSEPORT: 21,
} as const;
export type ProgType = (typeof ProgType)[keyof typeof ProgType];

/** `enum bpf_attach_type` (the ones the framework uses). */
export const AttachType = {
  XDP_CPUMAP: 35,
  XDP: 37,
  SK_REUSEPORT_SELECT: 39,
  SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
} as const;
export type AttachType = (typeof AttachType)[keyof typeof AttachType];

/** `enum bpf_link_type`. */
export const LinkType = {
  UNSPEC: 0,
  RAW_TRACEPOINT: 1,
  TRACING: 2,
  CGROUP: 3,
  ITER: 4,
  NETNS: 5,
  XDP: 6,
  PERF_EVENT: 7,
  KPROBE_MULTI: 8,
  STRUCT_OPS: 9,
  NETFILTER: 10,
  TCX: 11,
  UPROBE_MULTI: 12,
  NETKIT: 13,
} as const;

/** `BPF_MAP_UPDATE_ELEM` flags. */
export const UpdateFlag = { ANY: 0, NOEXIST: 1, EXIST: 2 } as const;
export type UpdateFlag = (typeof UpdateFlag)[keyof typeof UpdateFlag];

/** `map_flags` of `BPF_MAP_CREATE`. */
export const MapFlag = {
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  NUMA_NODE: 1 << 2,
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  /** The map's values can be mmap()ed (arrays since 5.5, ring buffers always). */
  MMAPABLE: 1 << 10,
} as const;

/** `file_flags` of `BPF_OBJ_GET` (and `open_flags` of the GET_FD_BY_ID commands). */
export const FileFlag = { RDONLY: 1 << 3, WRONLY: 1 << 4 } as const;

/** `flags` of `BPF_LINK_UPDATE`: replace only if the link still runs `old_prog_fd`. */
export const LINK_UPDATE_REPLACE = 1 << 2;

/** `BPF_OBJ_NAME_LEN`: names are at most 15 bytes plus the NUL. */
export const BPF_OBJ_NAME_LEN = 16;

/** `BPF_TAG_SIZE`: a program's tag is 8 bytes of SHA-1. */
export const BPF_TAG_SIZE = 8;

/** `BPF_FS_MAGIC`, the `f_type` statfs() reports for a bpf filesystem. */
export const BPF_FS_MAGIC = 0xcafe4a11;

/**
 * Size of `union bpf_attr` as the backend passes it: the 6.18 layout (it ends with the
 * program-signature fields). Older kernels accept a larger attr as long as the bytes they
 * do not know are zero, which is why every buffer is zeroed before encoding.
 */
export const BPF_ATTR_SIZE = 168;
