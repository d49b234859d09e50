import { ERRNO } from '../../errors/errno.js';
import { SyscallError } from '../../errors/syscall-error.js';
import type { FakeMap } from './fake-map.js';
import { FakeMemory } from './fake-memory.js';

export interface FakeProg {
  readonly kind: 'prog';
  readonly id: number;
  readonly type: number;
  readonly insns: Uint8Array;
  readonly license: string;
  readonly name: string;
  readonly expectedAttachType: number;
  /** `prog_ifindex`: the device the program is offloaded to, 0 for a host program. */
  readonly ifindex: number;
  readonly tag: Uint8Array;
}

export interface FakeLink {
  readonly kind: 'link';
  readonly id: number;
  prog: FakeProg;
  readonly attachType: number;
  readonly target: number;
  detached: boolean;
}

/** An object the model keeps no behaviour for beyond what its calls store in `options`. */
export interface FakeSimple {
  readonly kind: 'btf' | 'pidfd' | 'socket' | 'file' | 'epoll' | 'eventfd';
  readonly id: number;
  readonly options: Map<string, Uint8Array>;
  /** Address family of a socket made with `socket()`. */
  readonly domain?: number;
}

export type FakeObject = FakeMap | FakeProg | FakeLink | FakeSimple;

/** An open file: the object and the access it was opened with (a pin opened read-only...). */
export interface FakeFile {
  readonly object: FakeObject;
  readonly fileFlags: number;
}

/**
 * What both halves of the fake kernel share: the fd table, user memory, object ids, the log of
 * calls and the failures a test queued. The bpf commands (`FakeBpfCommands`) and the OS calls
 * (`FakeOsCalls`) are behaviour over this state, so an fd one half made is valid in the other,
 * as in the kernel.
 */
export class FakeKernel {
  /** Operation names in call order (`BPF_MAP_LOOKUP_ELEM`, `mmap`, `close`...). */
  readonly calls: string[] = [];
  readonly memory = new FakeMemory();
  /** The id the next object gets; a map takes it only once created (the kernel's idr does the same). */
  nextId = 1;
  readonly #files = new Map<number, FakeFile>();
  readonly #failures = new Map<string, number[]>();
  /** Fds start high, so a test that confuses a number with an fd fails loudly. */
  #nextFd = 100;

  /** Makes the next call of `operation` fail with `errno`. */
  failNext(operation: string, errno: number): void {
    const queue = this.#failures.get(operation) ?? [];
    queue.push(errno);
    this.#failures.set(operation, queue);
  }

  /** Logs a bpf() command; the errno a test queued for it, if any. */
  enterBpf(operation: string): number | undefined {
    this.calls.push(operation);
    return this.#failures.get(operation)?.shift();
  }

  /** Logs an OS call and throws the failure a test queued for it, if any. */
  enterOs(operation: string, subject: string): void {
    this.calls.push(operation);
    const injected = this.#failures.get(operation)?.shift();
    if (injected !== undefined) throw new SyscallError(operation, injected, { subject });
  }

  /** Opens `object` at the lowest free number from `minimum` on (at least the next unused one); returns it. */
  install(object: FakeObject, fileFlags: number, minimum = 0): number {
    let fd = Math.max(this.#nextFd, minimum);
    while (this.#files.has(fd)) fd++;
    this.#nextFd = fd + 1;
    this.#files.set(fd, { object, fileFlags });
    return fd;
  }

  file(fd: number): FakeFile | undefined {
    return this.#files.get(fd);
  }

  /** The open file, or the negated EBADF a bpf command answers for a number that is not open. */
  fileOrErrno(fd: number): FakeFile | number {
    return this.#files.get(fd) ?? -ERRNO.EBADF;
  }

  /** Closes `fd`; false when it was not open. */
  close(fd: number): boolean {
    return this.#files.delete(fd);
  }

  /** Open fd numbers, ascending: what a leak test compares. */
  openFds(): number[] {
    return [...this.#files.keys()].sort((a, b) => a - b);
  }
}
