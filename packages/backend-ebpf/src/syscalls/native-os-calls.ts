import koffi, { type LibraryHandle } from 'koffi';
import { ERRNO } from '../errors/errno.js';
import { SyscallError } from '../errors/syscall-error.js';
import { Fd } from '../fd.js';
import { startEpollWaitThread } from './native-epoll-wait-thread.js';
import type { EpollWaitListener, EpollWaitThread, MmapOptions, OsSyscalls } from './os-syscalls.js';
import type { SyscallBuffer } from './syscall-buffer.js';

const F_DUPFD_CLOEXEC = 1030;
const O_CLOEXEC = 0o2000000;
const SOCK_CLOEXEC = 0o2000000;
const EPOLL_CLOEXEC = 0o2000000;
const EFD_CLOEXEC = 0o2000000;
/** `struct epoll_event` is packed on x86_64 (12 bytes) and naturally aligned elsewhere (16). */
const EPOLL_EVENT = process.arch === 'x64' ? { size: 12, data: 4 } : { size: 16, data: 8 };
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;
/** statfs(2) writes a `struct statfs` (120 bytes on x86_64 and aarch64); f_type is its first word. */
const STATFS_BUFFER_SIZE = 256;

/** The pidfd syscalls, which glibc wraps only since 2.36; their numbers are the same on x86_64 and aarch64. */
export interface PidfdSyscallNumbers {
  readonly pidfdOpen: number;
  readonly pidfdGetfd: number;
}

type Call = (...args: unknown[]) => number;
type PointerCall = (...args: unknown[]) => bigint | null;

/** Memory at a stable address: an ArrayBuffer's backing store never moves, so its address is read once. */
export function allocNativeBuffer(size: number): SyscallBuffer {
  const buffer = new ArrayBuffer(size);
  return { bytes: new Uint8Array(buffer), view: new DataView(buffer), address: size === 0 ? 0n : koffi.address(buffer) };
}

/**
 * The operating-system calls, through libc via koffi, with prototypes declared once (the
 * bpf() half is `NativeSyscalls`). Variadic functions (`syscall`, `open`, `ioctl`) get fixed
 * prototypes: on x86_64 and aarch64 Linux integer and pointer arguments travel in the same
 * registers either way. errno is read with `koffi.errno()` immediately after the call, before
 * anything else can run on this thread.
 */
export class NativeOsCalls implements OsSyscalls {
  readonly #pidfd: PidfdSyscallNumbers;
  readonly #syscall3: Call;
  readonly #close: Call;
  readonly #fcntl: Call;
  readonly #setsockopt: Call;
  readonly #getsockopt: Call;
  readonly #mmap: PointerCall;
  readonly #munmap: Call;
  readonly #mount: Call;
  readonly #statfs: Call;
  readonly #socket: Call;
  readonly #bind: Call;
  readonly #open: Call;
  readonly #setns: Call;
  readonly #ioctl: Call;
  readonly #ifNameToIndex: Call;
  readonly #ifIndexToName: PointerCall;
  readonly #epollCreate1: Call;
  readonly #epollCtl: Call;
  readonly #eventfd: Call;
  readonly #write: Call;
  readonly #sendto: Call;
  readonly #pageSize: number;
  readonly #epollEvent: Uint8Array = new Uint8Array(EPOLL_EVENT.size);
  readonly #optlen: Uint32Array = new Uint32Array(1);
  readonly #statfsBuffer: SyscallBuffer = allocNativeBuffer(STATFS_BUFFER_SIZE);

  constructor(libc: LibraryHandle, pidfd: PidfdSyscallNumbers) {
    this.#pidfd = pidfd;
    this.#syscall3 = libc.func('syscall', 'long', ['long', 'long', 'long', 'long']) as Call;
    this.#close = libc.func('int close(int fd)') as Call;
    this.#fcntl = libc.func('int fcntl(int fd, int cmd, int arg)') as Call;
    this.#setsockopt = libc.func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)') as Call;
    this.#getsockopt = libc.func('int getsockopt(int fd, int level, int name, _Inout_ void *value, _Inout_ uint32_t *len)') as Call;
    this.#mmap = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)') as PointerCall;
    this.#munmap = libc.func('int munmap(void *addr, size_t length)') as Call;
    this.#mount = libc.func(
      'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
    ) as Call;
    this.#statfs = libc.func('int statfs(const char *path, void *buf)') as Call;
    this.#socket = libc.func('int socket(int domain, int type, int protocol)') as Call;
    this.#bind = libc.func('int bind(int fd, const void *address, uint32_t length)') as Call;
    // open() is variadic; the mode travels in the same register either way (see the class comment).
    this.#open = libc.func('int open(const char *path, int flags, unsigned int mode)') as Call;
    this.#setns = libc.func('int setns(int fd, int nstype)') as Call;
    // ioctl() is variadic; one pointer argument travels in the same register either way.
    this.#ioctl = libc.func('int ioctl(int fd, unsigned long request, void *arg)') as Call;
    this.#ifNameToIndex = libc.func('unsigned int if_nametoindex(const char *name)') as Call;
    this.#ifIndexToName = libc.func('void *if_indextoname(unsigned int index, _Out_ uint8_t *name)') as PointerCall;
    this.#epollCreate1 = libc.func('int epoll_create1(int flags)') as Call;
    this.#epollCtl = libc.func('int epoll_ctl(int epfd, int op, int fd, void *event)') as Call;
    this.#eventfd = libc.func('int eventfd(unsigned int initval, int flags)') as Call;
    this.#write = libc.func('long write(int fd, const void *buffer, size_t count)') as Call;
    this.#sendto = libc.func('long sendto(int fd, const void *buffer, size_t length, int flags, const void *address, uint32_t addressLength)') as Call;
    this.#pageSize = (libc.func('int getpagesize()') as Call)();
  }

  closeFd(raw: number): void {
    if (this.#close(raw) < 0) {
      const errno = koffi.errno();
      // Linux releases the number even when close() reports EINTR, so retrying would be wrong.
      if (errno !== ERRNO.EINTR) throw new SyscallError('close', errno, { subject: `fd ${raw}` });
    }
  }

  dupFd(raw: number, minimum: number): number {
    const fd = this.#fcntl(raw, F_DUPFD_CLOEXEC, minimum);
    if (fd < 0) throw new SyscallError('fcntl(F_DUPFD_CLOEXEC)', koffi.errno(), { subject: `fd ${raw}` });
    return fd;
  }

  setsockopt(socket: Fd, level: number, name: number, value: Uint8Array): void {
    // koffi passes a typed array as a pointer to its own bytes and holds it for the call.
    if (this.#setsockopt(socket.raw, level, name, value, value.length) < 0) {
      throw new SyscallError('setsockopt', koffi.errno(), { subject: `${String(socket)} level ${level} option ${name}` });
    }
  }

  getsockopt(socket: Fd, level: number, name: number, value: Uint8Array): number {
    this.#optlen[0] = value.length;
    if (this.#getsockopt(socket.raw, level, name, value, this.#optlen) < 0) {
      throw new SyscallError('getsockopt', koffi.errno(), { subject: `${String(socket)} level ${level} option ${name}` });
    }
    return this.#optlen[0] ?? 0;
  }

  mmap(options: MmapOptions): bigint {
    const address = this.#mmap(
      options.address ?? null,
      options.length,
      options.prot,
      options.flags,
      options.fd?.raw ?? -1,
      options.offset ?? 0,
    );
    if (address === null || address === MAP_FAILED) {
      throw new SyscallError('mmap', koffi.errno(), { subject: options.fd === undefined ? 'anonymous memory' : String(options.fd) });
    }
    return address;
  }

  munmap(address: bigint, length: number): void {
    if (this.#munmap(address, length) < 0) throw new SyscallError('munmap', koffi.errno());
  }

  memoryView(address: bigint, length: number): ArrayBuffer {
    return koffi.view(address, length);
  }

  mount(source: string, target: string, fsType: string, flags: number, data?: string): void {
    if (this.#mount(source, target, fsType, flags, data ?? null) < 0) {
      throw new SyscallError('mount', koffi.errno(), { subject: `${fsType} at ${target}` });
    }
  }

  statfsType(path: string): number {
    if (this.#statfs(path, this.#statfsBuffer.address) < 0) throw new SyscallError('statfs', koffi.errno(), { subject: path });
    // f_type is a long; filesystem magics fit in 32 bits and the low word comes first on little-endian.
    return this.#statfsBuffer.view.getUint32(0, true);
  }

  pidfdOpen(pid: number, flags = 0): Fd {
    const r = this.#syscall3(this.#pidfd.pidfdOpen, pid, flags, 0);
    if (r < 0) throw new SyscallError('pidfd_open', koffi.errno(), { subject: `pid ${pid}` });
    return this.#adopt(r);
  }

  pidfdGetfd(pidfd: Fd, targetFd: number, flags = 0): Fd {
    const r = this.#syscall3(this.#pidfd.pidfdGetfd, pidfd.raw, targetFd, flags);
    if (r < 0) throw new SyscallError('pidfd_getfd', koffi.errno(), { subject: `fd ${targetFd} of ${String(pidfd)}` });
    return this.#adopt(r);
  }

  socket(domain: number, type: number, protocol: number): Fd {
    const fd = this.#socket(domain, type | SOCK_CLOEXEC, protocol);
    if (fd < 0) throw new SyscallError('socket', koffi.errno(), { subject: `domain ${domain} type ${type}` });
    return this.#adopt(fd);
  }

  bind(socket: Fd, address: Uint8Array): void {
    if (this.#bind(socket.raw, address, address.length) < 0) throw new SyscallError('bind', koffi.errno(), { subject: String(socket) });
  }

  openFile(path: string, flags: number): Fd {
    const fd = this.#open(path, flags | O_CLOEXEC, 0);
    if (fd < 0) throw new SyscallError('open', koffi.errno(), { subject: path });
    return this.#adopt(fd);
  }

  setns(namespace: Fd, nstype: number): void {
    if (this.#setns(namespace.raw, nstype) < 0) throw new SyscallError('setns', koffi.errno(), { subject: String(namespace) });
  }

  ioctl(fd: Fd, request: number, arg: SyscallBuffer): void {
    if (this.#ioctl(fd.raw, request, arg.address) < 0) {
      throw new SyscallError('ioctl', koffi.errno(), { subject: `${String(fd)} request 0x${request.toString(16)}` });
    }
  }

  interfaceIndex(name: string): number {
    const index = this.#ifNameToIndex(name);
    if (index !== 0) return index;
    const errno = koffi.errno();
    if (errno === ERRNO.ENODEV || errno === ERRNO.ENXIO) return 0;
    throw new SyscallError('if_nametoindex', errno, { subject: `interface '${name}'` });
  }

  interfaceName(index: number): string | undefined {
    // IF_NAMESIZE: 15 characters and the terminating NUL.
    const name = new Uint8Array(16);
    const found = this.#ifIndexToName(index, name);
    if (found === null || found === 0n) return undefined;
    const end = name.indexOf(0);
    return new TextDecoder().decode(name.subarray(0, end < 0 ? name.length : end));
  }

  pageSize(): number {
    return this.#pageSize;
  }

  epollCreate(): Fd {
    const fd = this.#epollCreate1(EPOLL_CLOEXEC);
    if (fd < 0) throw new SyscallError('epoll_create1', koffi.errno());
    return this.#adopt(fd);
  }

  epollCtl(epoll: Fd, op: number, target: Fd, events: number, token: number): void {
    const view = new DataView(this.#epollEvent.buffer);
    view.setUint32(0, events >>> 0, true);
    view.setUint32(EPOLL_EVENT.data, token >>> 0, true);
    view.setUint32(EPOLL_EVENT.data + 4, 0, true);
    if (this.#epollCtl(epoll.raw, op, target.raw, this.#epollEvent) < 0) {
      throw new SyscallError('epoll_ctl', koffi.errno(), { subject: `${String(target)} in epoll ${String(epoll)}` });
    }
  }

  epollWaitThread(epoll: Fd, stopToken: number, listener: EpollWaitListener, threadName?: string): EpollWaitThread {
    return startEpollWaitThread(epoll, stopToken, EPOLL_EVENT, listener, threadName);
  }

  eventfd(initial: number, flags: number): Fd {
    const fd = this.#eventfd(initial, flags | EFD_CLOEXEC);
    if (fd < 0) throw new SyscallError('eventfd', koffi.errno());
    return this.#adopt(fd);
  }

  write(fd: Fd, bytes: Uint8Array): number {
    const n = this.#write(fd.raw, bytes, bytes.length);
    if (n < 0) throw new SyscallError('write', koffi.errno(), { subject: String(fd) });
    return n;
  }

  sendto(socket: Fd, bytes: Uint8Array | null, flags: number, address?: Uint8Array): number {
    const n = this.#sendto(socket.raw, bytes, bytes?.length ?? 0, flags, address ?? null, address?.length ?? 0);
    if (n < 0) throw new SyscallError('sendto', koffi.errno(), { subject: String(socket) });
    return n;
  }

  /** Every fd of the chokepoint is owned through this half: an Fd needs only its close and dup. */
  #adopt(raw: number): Fd {
    return Fd.adopt(raw, this);
  }
}
