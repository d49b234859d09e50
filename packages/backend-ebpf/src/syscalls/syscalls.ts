import type { BpfSyscalls } from './bpf-syscalls.js';
import type { OsSyscalls } from './os-syscalls.js';
import type { SyscallBuffer } from './syscall-buffer.js';

/**
 * The one chokepoint for every system call the backend makes, in two halves: the bpf(2)
 * commands ({@link BpfSyscalls}) and the operating-system calls around them ({@link OsSyscalls}).
 * {@link NativeSyscalls} calls the kernel through libc; `FakeSyscalls` models enough of it for
 * unprivileged unit tests. Code receives the whole of it, so one object can be swapped for tests.
 *
 * Conventions: a failing call throws `SyscallError` (errno name as `code`); calls whose
 * failure is an ordinary answer (a missing key, the end of an iteration) return a boolean
 * instead, because throwing on every absent key would make lookups slow. Calls that create
 * kernel objects return an owned `Fd`; raw numbers appear only in `closeFd`/`dupFd`, which
 * exist for `Fd` itself.
 */
export interface Syscalls extends BpfSyscalls, OsSyscalls {
  /** `native` or `fake`, for messages and tests. */
  readonly kind: string;

  /** Memory whose address is stable, for keys, values and cursors of hot calls and for ioctl and statfs arguments. */
  allocBuffer(size: number): SyscallBuffer;
}

// The halves' types, where this layer's users have always found them.
export type {
  BpfObjectKind,
  BpfSyscalls,
  BtfLoadAttr,
  InfoPointer,
  LinkCreateAttr,
  LinkUpdateOptions,
  LoadOutput,
  MapCreateAttr,
  MapLookupBatchAttr,
  MapLookupBatchResult,
  MapUpdateBatchAttr,
  ProgLoadAttr,
  ProgTestRunAttr,
  ProgTestRunResult,
  RecordArray,
} from './bpf-syscalls.js';
export { Epoll, Mmap, type EpollWaitListener, type EpollWaitThread, type MmapOptions, type OsSyscalls } from './os-syscalls.js';
