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

/**
 * The bpf(2) commands: every call that encodes a `union bpf_attr`, written once in
 * `BpfCommands` (bpf-commands.ts) over a single `bpf(command, attr)` primitive (cilium/ebpf
 * keeps the same half in `internal/sys`). The other half, the operating-system calls around
 * them, is `OsSyscalls` (os-syscalls.ts).
 */
export interface BpfSyscalls {
  /**
   * CPUs a per-CPU map holds a value for: the possible CPUs (/sys/devices/system/cpu/possible),
   * which can exceed the online ones.
   */
  possibleCpus(): number;

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
}

export type BpfObjectKind = 'map' | 'prog' | 'link' | 'btf';
