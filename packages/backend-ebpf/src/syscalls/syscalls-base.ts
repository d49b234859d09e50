import type { Fd } from '../fd.js';
import { BpfCommands } from './bpf-commands.js';
import type { EpollWaitListener, EpollWaitThread, MmapOptions, OsSyscalls } from './os-syscalls.js';
import type { SyscallBuffer } from './syscall-buffer.js';
import type { Syscalls } from './syscalls.js';

/**
 * The whole chokepoint: the bpf() commands of {@link BpfCommands}, and the operating-system
 * calls of another object, `os`, forwarded to it unchanged. Every fd either half creates is
 * owned through `os`, whose close and dup are the ones an `Fd` needs. An implementation gives
 * the bpf() primitive and its OS half: {@link NativeSyscalls} libc for both, `FakeSyscalls`
 * the fake kernel's model of both.
 */
export abstract class SyscallsBase extends BpfCommands implements Syscalls {
  abstract readonly kind: string;
  /** The operating-system half: native libc calls, or the fake kernel's model of them. */
  protected readonly os: OsSyscalls;

  protected constructor(os: OsSyscalls) {
    super(os);
    this.os = os;
  }

  closeFd(raw: number): void {
    this.os.closeFd(raw);
  }

  dupFd(raw: number, minimum: number): number {
    return this.os.dupFd(raw, minimum);
  }

  setsockopt(socket: Fd, level: number, name: number, value: Uint8Array): void {
    this.os.setsockopt(socket, level, name, value);
  }

  getsockopt(socket: Fd, level: number, name: number, value: Uint8Array): number {
    return this.os.getsockopt(socket, level, name, value);
  }

  mmap(options: MmapOptions): bigint {
    return this.os.mmap(options);
  }

  munmap(address: bigint, length: number): void {
    this.os.munmap(address, length);
  }

  memoryView(address: bigint, length: number): ArrayBuffer {
    return this.os.memoryView(address, length);
  }

  mount(source: string, target: string, fsType: string, flags: number, data?: string): void {
    this.os.mount(source, target, fsType, flags, data);
  }

  statfsType(path: string): number {
    return this.os.statfsType(path);
  }

  pidfdOpen(pid: number, flags?: number): Fd {
    return this.os.pidfdOpen(pid, flags);
  }

  pidfdGetfd(pidfd: Fd, targetFd: number, flags?: number): Fd {
    return this.os.pidfdGetfd(pidfd, targetFd, flags);
  }

  socket(domain: number, type: number, protocol: number): Fd {
    return this.os.socket(domain, type, protocol);
  }

  bind(socket: Fd, address: Uint8Array): void {
    this.os.bind(socket, address);
  }

  openFile(path: string, flags: number): Fd {
    return this.os.openFile(path, flags);
  }

  setns(namespace: Fd, nstype: number): void {
    this.os.setns(namespace, nstype);
  }

  ioctl(fd: Fd, request: number, arg: SyscallBuffer): void {
    this.os.ioctl(fd, request, arg);
  }

  interfaceIndex(name: string): number {
    return this.os.interfaceIndex(name);
  }

  interfaceName(index: number): string | undefined {
    return this.os.interfaceName(index);
  }

  pageSize(): number {
    return this.os.pageSize();
  }

  epollCreate(): Fd {
    return this.os.epollCreate();
  }

  epollCtl(epoll: Fd, op: number, target: Fd, events: number, token: number): void {
    this.os.epollCtl(epoll, op, target, events, token);
  }

  epollWaitThread(epoll: Fd, stopToken: number, listener: EpollWaitListener, threadName?: string): EpollWaitThread {
    return this.os.epollWaitThread(epoll, stopToken, listener, threadName);
  }

  eventfd(initial: number, flags: number): Fd {
    return this.os.eventfd(initial, flags);
  }

  write(fd: Fd, bytes: Uint8Array): number {
    return this.os.write(fd, bytes);
  }

  sendto(socket: Fd, bytes: Uint8Array | null, flags: number, address?: Uint8Array): number {
    return this.os.sendto(socket, bytes, flags, address);
  }
}
