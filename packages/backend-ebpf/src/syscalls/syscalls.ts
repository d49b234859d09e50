import type { Fd } from '../fd.js';
import type { SyscallBuffer } from './syscall-buffer.js';

/** `BPF_MAP_CREATE` attributes. Names follow the kernel's fields. */
export interface MapCreateAttr {
  readonly mapType: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly mapFlags?: number;
  /** Inner map template of map-in-map types. */
  readonly innerMap?: Fd;
  readonly numaNode?: number;
  /** At most 15 bytes of `[A-Za-z0-9_.]`; longer names are refused before the call. */
  readonly name?: string;
  readonly ifindex?: number;
  readonly btf?: Fd;
  readonly btfKeyTypeId?: number;
  readonly btfValueTypeId?: number;
  readonly mapExtra?: bigint;
}

/** `BPF_MAP_LOOKUP_BATCH` request: the cursor is opaque, sized at least max(key size, 4). */
export interface MapLookupBatchAttr {
  /** The cursor returned by the previous call, or null to start at the beginning. */
  readonly inBatch: SyscallBuffer | null;
  readonly outBatch: SyscallBuffer;
  readonly keys: SyscallBuffer;
  readonly values: SyscallBuffer;
  /** How many elements `keys` and `values` have room for. */
  readonly count: number;
  readonly elemFlags?: number;
}

export interface MapLookupBatchResult {
  /** Elements written to `keys` and `values`. */
  readonly count: number;
  /** True when the map has no more elements after these (the kernel said ENOENT). */
  readonly done: boolean;
}

export interface MapUpdateBatchAttr {
  readonly keys: SyscallBuffer;
  readonly values: SyscallBuffer;
  readonly count: number;
  readonly elemFlags?: number;
}

/** A record array passed by pointer with its record size and count (func_info, line_info). */
export interface RecordArray {
  readonly recordSize: number;
  readonly count: number;
  readonly data: Uint8Array;
}

/** `BPF_PROG_LOAD` attributes; `insns` holds 8-byte instructions as the kernel reads them. */
export interface ProgLoadAttr {
  readonly progType: number;
  readonly insns: Uint8Array;
  readonly license: string;
  readonly logLevel?: number;
  /** The kernel writes the verifier log here; needs `logLevel` > 0. */
  readonly logBuffer?: Uint8Array;
  readonly progFlags?: number;
  readonly name?: string;
  readonly ifindex?: number;
  readonly expectedAttachType?: number;
  readonly progBtf?: Fd;
  readonly funcInfo?: RecordArray;
  readonly lineInfo?: RecordArray;
  readonly attachBtfId?: number;
  readonly attachProg?: Fd;
}

/** What `BPF_PROG_LOAD` and `BPF_BTF_LOAD` write back besides the fd, on success and failure alike. */
export interface LoadOutput {
  /** Bytes the full log needs (6.4+; 0 on older kernels). */
  logTrueSize: number;
}

export interface BtfLoadAttr {
  readonly btf: Uint8Array;
  readonly logLevel?: number;
  readonly logBuffer?: Uint8Array;
}

export interface LinkCreateAttr {
  readonly prog: Fd;
  /** The object to attach to (cgroup, netns...). Exclusive with `targetIfindex`. */
  readonly target?: Fd;
  readonly targetIfindex?: number;
  readonly attachType: number;
  readonly flags?: number;
  readonly targetBtfId?: number;
}

export interface LinkUpdateOptions {
  /** Replace only if the link still runs this program (BPF_F_REPLACE). */
  readonly oldProg?: Fd;
  readonly flags?: number;
}

export interface ProgTestRunAttr {
  readonly prog: Fd;
  readonly dataIn?: Uint8Array;
  /** Receives the packet after the run; ENOSPC when too small. */
  readonly dataOut?: Uint8Array;
  readonly ctxIn?: Uint8Array;
  readonly ctxOut?: Uint8Array;
  /** Runs; 0 means 1. */
  readonly repeat?: number;
  readonly flags?: number;
  readonly cpu?: number;
  readonly batchSize?: number;
}

export interface ProgTestRunResult {
  readonly retval: number;
  /** Average nanoseconds per run, clamped to u32 by the kernel. */
  readonly duration: number;
  readonly dataSizeOut: number;
  readonly ctxSizeOut: number;
}

/** A pointer field inside an info struct that must point at a caller buffer (prog map_ids). */
export interface InfoPointer {
  readonly offset: number;
  readonly buffer: Uint8Array;
}

export interface MmapOptions {
  /** With MAP_FIXED in `flags`, the address to replace; otherwise a hint or absent. */
  readonly address?: bigint;
  readonly length: number;
  readonly prot: number;
  readonly flags: number;
  readonly fd?: Fd;
  readonly offset?: number;
}

/**
 * The one chokepoint for every system call the backend makes. {@link NativeSyscalls} calls
 * the kernel through libc; `FakeSyscalls` models enough of it for unprivileged unit tests.
 *
 * Conventions: a failing call throws `SyscallError` (errno name as `code`); calls whose
 * failure is an ordinary answer (a missing key, the end of an iteration) return a boolean
 * instead, because throwing on every absent key would make lookups slow. Calls that create
 * kernel objects return an owned `Fd`; raw numbers appear only in `closeFd`/`dupFd`, which
 * exist for `Fd` itself.
 */
export interface Syscalls {
  /** `native` or `fake`, for messages and tests. */
  readonly kind: string;

  /** Memory whose address is stable, for keys, values and cursors of hot calls. */
  allocBuffer(size: number): SyscallBuffer;
  /**
   * CPUs a per-CPU map holds a value for: the possible CPUs (/sys/devices/system/cpu/possible),
   * which can exceed the online ones.
   */
  possibleCpus(): number;

  /** close(2) of a raw number; only `Fd` calls this. */
  closeFd(raw: number): void;
  /** fcntl(F_DUPFD_CLOEXEC) with the lowest acceptable number; only `Fd` calls this. */
  dupFd(raw: number, minimum: number): number;

  mapCreate(attr: MapCreateAttr): Fd;
  /** False when the key is absent (ENOENT); `value` receives the value otherwise. */
  mapLookupElem(map: Fd, key: SyscallBuffer, value: SyscallBuffer, flags?: number): boolean;
  mapUpdateElem(map: Fd, key: SyscallBuffer, value: SyscallBuffer, flags: number): void;
  /** False when the key was absent (ENOENT). */
  mapDeleteElem(map: Fd, key: SyscallBuffer): boolean;
  /** Writes the key after `key` (the first with null) to `next`; false at the end (ENOENT). */
  mapGetNextKey(map: Fd, key: SyscallBuffer | null, next: SyscallBuffer): boolean;
  mapLookupBatch(map: Fd, attr: MapLookupBatchAttr): MapLookupBatchResult;
  /** Returns how many elements were written. */
  mapUpdateBatch(map: Fd, attr: MapUpdateBatchAttr): number;

  progLoad(attr: ProgLoadAttr, output?: LoadOutput): Fd;
  /**
   * `progLoad` off the calling thread: the verifier can work for seconds on one program, and
   * a daemon serving several tenants must keep answering meanwhile (issue #15). The native
   * implementation runs bpf() on a libuv pool thread; `attr` and its arrays must not change
   * until the promise settles.
   */
  progLoadAsync(attr: ProgLoadAttr, output?: LoadOutput): Promise<Fd>;
  progTestRun(attr: ProgTestRunAttr): ProgTestRunResult;
  btfLoad(attr: BtfLoadAttr, output?: LoadOutput): Fd;

  objPin(object: Fd, path: string): void;
  /** `fileFlags` is 0 for read-write or a `FileFlag`. */
  objGet(path: string, fileFlags: number): Fd;
  /**
   * What kind of bpf object an fd refers to, or undefined for anything else. Needed because
   * BPF_OBJ_GET_INFO_BY_FD answers for every kind, so it cannot tell a map from a program.
   */
  objectKind(object: Fd): BpfObjectKind | undefined;
  /** Fills `info` (a bpf_map_info, bpf_prog_info...) and returns the bytes the kernel wrote. */
  objGetInfoByFd(object: Fd, info: Uint8Array, pointers?: readonly InfoPointer[]): number;

  /** BPF_RAW_TRACEPOINT_OPEN: attaches a raw tracepoint program; the returned link fd detaches it when closed. */
  rawTracepointOpen(name: string, prog: Fd): Fd;

  linkCreate(attr: LinkCreateAttr): Fd;
  linkUpdate(link: Fd, newProg: Fd, options?: LinkUpdateOptions): void;
  linkDetach(link: Fd): void;

  setsockopt(socket: Fd, level: number, name: number, value: Uint8Array): void;
  /** Fills `value` and returns the length the kernel reported. */
  getsockopt(socket: Fd, level: number, name: number, value: Uint8Array): number;

  /** mmap(2); returns the mapping's address. */
  mmap(options: MmapOptions): bigint;
  munmap(address: bigint, length: number): void;
  /** An ArrayBuffer over `length` bytes at `address`, without copying; valid while mapped. */
  memoryView(address: bigint, length: number): ArrayBuffer;

  mount(source: string, target: string, fsType: string, flags: number, data?: string): void;
  /** statfs(2)'s `f_type` for a path: which filesystem it lives on. */
  statfsType(path: string): number;

  pidfdOpen(pid: number, flags?: number): Fd;
  /** Duplicates fd number `targetFd` of the process behind `pidfd` into this process. */
  pidfdGetfd(pidfd: Fd, targetFd: number, flags?: number): Fd;

  /** socket(2); `type` may carry SOCK_CLOEXEC/SOCK_NONBLOCK. */
  socket(domain: number, type: number, protocol: number): Fd;
  /** bind(2) with the raw bytes of a `struct sockaddr_*`. */
  bind(socket: Fd, address: Uint8Array): void;
  /** open(2) of a path (namespace files and the like); O_CLOEXEC is always added. */
  openFile(path: string, flags: number): Fd;
  /**
   * setns(2) of the calling thread only: in a multi-threaded process the other threads
   * (libuv's pool, workers) keep their namespaces.
   */
  setns(namespace: Fd, nstype: number): void;
  /**
   * ioctl(2) whose argument is a pointer to `arg` (a `struct ifreq` for the SIOC* requests).
   * Pointers inside `arg` must name memory with a stable address (`allocBuffer`).
   */
  ioctl(fd: Fd, request: number, arg: SyscallBuffer): void;
  /** if_nametoindex(3) in the calling thread's network namespace; 0 when there is no such interface. */
  interfaceIndex(name: string): number;
  /** if_indextoname(3) in the calling thread's network namespace; undefined when no interface has that index. */
  interfaceName(index: number): string | undefined;
  /** The size of a memory page (mmap offsets and ring-buffer layouts are in pages). */
  pageSize(): number;
  /** epoll_create1(EPOLL_CLOEXEC). */
  epollCreate(): Fd;
  /** epoll_ctl(2); `token` is the event's data, returned by epoll_wait for this fd. */
  epollCtl(epoll: Fd, op: number, target: Fd, events: number, token: number): void;
  /** eventfd(2); EFD_CLOEXEC is always added. */
  eventfd(initial: number, flags: number): Fd;
  /** write(2); returns the bytes written. */
  write(fd: Fd, bytes: Uint8Array): number;
  /**
   * sendto(2) of `bytes` (none: a zero-length send, which is how an AF_XDP socket is told to
   * transmit its TX ring) to `address` (raw `struct sockaddr_*` bytes; none for a connected
   * or AF_XDP socket). Returns the bytes sent; EAGAIN and the like throw like any failure.
   */
  sendto(socket: Fd, bytes: Uint8Array | null, flags: number, address?: Uint8Array): number;
}

/** epoll_ctl(2) operations and event bits. */
export const Epoll = {
  CTL_ADD: 1,
  CTL_DEL: 2,
  CTL_MOD: 3,
  IN: 0x001,
  ERR: 0x008,
  HUP: 0x010,
  ONESHOT: 1 << 30,
} as const;

export type BpfObjectKind = 'map' | 'prog' | 'link' | 'btf';

/** mmap(2) constants (the same on x86_64 and aarch64). */
export const Mmap = {
  PROT_NONE: 0,
  PROT_READ: 1,
  PROT_WRITE: 2,
  MAP_SHARED: 0x01,
  MAP_PRIVATE: 0x02,
  MAP_FIXED: 0x10,
  MAP_ANONYMOUS: 0x20,
} as const;
