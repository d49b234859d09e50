// @syrup/backend-ebpf/syscalls: the one place this package talks to the kernel.
// Owns the Syscalls interface in its two halves, the bpf() commands (BpfSyscalls) and the OS
// calls around them (OsSyscalls), its native (koffi) implementation, owned fds, bpf() attrs,
// constants and object info, and the errors of failed calls (the fake is on ./testing).
export { NativeSyscalls, nativeSyscalls } from './native-syscalls.js';
export {
  Epoll,
  Mmap,
  type BpfObjectKind,
  type BpfSyscalls,
  type BtfLoadAttr,
  type EpollWaitListener,
  type EpollWaitThread,
  type InfoPointer,
  type LinkCreateAttr,
  type LinkUpdateOptions,
  type LoadOutput,
  type MapCreateAttr,
  type MapLookupBatchAttr,
  type MapLookupBatchResult,
  type MapUpdateBatchAttr,
  type MmapOptions,
  type OsSyscalls,
  type ProgLoadAttr,
  type ProgTestRunAttr,
  type ProgTestRunResult,
  type RecordArray,
  type Syscalls,
} from './syscalls.js';
export type { SyscallBuffer } from './syscall-buffer.js';
export {
  AttachType,
  BPF_ATTR_SIZE,
  BPF_FS_MAGIC,
  BPF_OBJ_NAME_LEN,
  BPF_TAG_SIZE,
  BpfCommand,
  FileFlag,
  LINK_UPDATE_REPLACE,
  LinkType,
  MapFlag,
  MapType,
  ProgType,
  UpdateFlag,
  bpfCommandName,
} from './bpf-constants.js';
export { BPF_INSN_SIZE, sanitizeObjectName } from './bpf-attr.js';
export {
  decodeLinkInfo,
  decodeMapInfo,
  decodeProgInfo,
  getLinkInfo,
  getMapInfo,
  getProgInfo,
  type LinkInfo,
  type MapInfo,
  type ProgInfo,
} from './obj-info.js';
export { countCpuList } from './cpu-list.js';
export { isIfindex, offloadDeviceLabel } from './offload-device.js';

// Owned file descriptors.
export { Fd, reportFdLeaks, type FdLeak, type FdLeakReporter, type FdSyscalls } from '../fd.js';

// Errors of the syscall layer.
export { BpfAttrError } from '../errors/bpf-attr-error.js';
export { ERRNO, errnoName, type ErrnoCode, type ErrnoName } from '../errors/errno.js';
export { FdError, type FdErrorCode } from '../errors/fd-error.js';
export { SyscallError, isSyscallError, type SyscallErrorOptions } from '../errors/syscall-error.js';
