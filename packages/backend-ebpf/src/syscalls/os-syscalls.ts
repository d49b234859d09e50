import type { Fd } from '../fd.js';
import type { SyscallBuffer } from './syscall-buffer.js';

export interface MmapOptions {
  /** With MAP_FIXED in `flags`, the address to replace; otherwise a hint or absent. */
  readonly address?: bigint;
  readonly length: number;
  readonly prot: number;
  readonly flags: number;
  readonly fd?: Fd;
  readonly offset?: number;
}

/** What an {@link EpollWaitThread} tells the main thread, always on the main thread. */
export interface EpollWaitListener {
  /** Fds of the set became ready: their tokens (epoll_ctl's data), the stop token left out. */
  ready(tokens: readonly number[]): void;
  /** epoll_wait failed or the thread crashed; the thread ends. */
  failed(error: Error): void;
}

/**
 * A thread blocked in epoll_wait(2) on one epoll set, for as long as the set is in use: Node
 * offers no readiness API for an arbitrary fd, and blocking a thread costs no CPU. It ends once
 * it sees the stop token ready (the caller writes an eventfd it registered under that token),
 * when it fails, or when terminated.
 */
export interface EpollWaitThread {
  /** Settles once the thread has ended; only then may the set's fds be closed. */
  readonly ended: Promise<void>;
  /** Whether the waiting thread keeps the process alive; it starts not keeping it. */
  keepAlive(keep: boolean): void;
  /** Ends the thread without waking it, for when the stop token cannot be written. */
  terminate(): void;
}

/**
 * The operating-system calls the backend makes around the bpf commands: fds, memory
 * mappings, mounts, namespaces, pidfds, sockets, ioctls and epoll (cilium/ebpf keeps the same
 * half in `internal/unix`). The bpf commands themselves are `BpfSyscalls` (bpf-syscalls.ts).
 */
export interface OsSyscalls {
  /** close(2) of a raw number; only `Fd` calls this. */
  closeFd(raw: number): void;
  /** fcntl(F_DUPFD_CLOEXEC) with the lowest acceptable number; only `Fd` calls this. */
  dupFd(raw: number, minimum: number): number;

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
  /**
   * Starts a thread waiting in epoll_wait(2) on `epoll` that reports ready tokens to `listener`,
   * never before this call has returned, and ends after seeing `stopToken`. The set must stay
   * open until `ended` settles: the thread holds its raw number, while the calling thread keeps
   * owning (and closing) every fd. `threadName`, when given, names the thread (its `comm`),
   * so an application can find it, to raise its priority with its agent's, say.
   */
  epollWaitThread(epoll: Fd, stopToken: number, listener: EpollWaitListener, threadName?: string): EpollWaitThread;
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
