import { SyscallError } from '../errors/syscall-error.js';
import type { Fd } from '../fd.js';
import type { Program } from '../programs/program.js';
import { ProgType } from '../syscalls/bpf-constants.js';
import { nativeSyscalls } from '../syscalls/native-syscalls.js';
import type { Syscalls } from '../syscalls/syscalls.js';
import { LinkError } from './link-error.js';

const SOL_SOCKET = 1;
/** setsockopt options of SO_REUSEPORT groups (asm-generic/socket.h). */
export const SO_ATTACH_REUSEPORT_EBPF = 52;
export const SO_DETACH_REUSEPORT_BPF = 68;

export interface ReuseportAttachOptions {
  readonly sys?: Syscalls;
  /** Detach when disposed; off by default, because the program serves the whole group, not this object. */
  readonly detachOnDispose?: boolean;
}

/**
 * A program attached to a SO_REUSEPORT socket group (SO_ATTACH_REUSEPORT_EBPF). This is NOT a
 * link, and says so (aya's sk_reuseport does the same): the kernel keeps the program in the
 * group (`sock_reuseport.prog`), not in a file, so
 *
 * - attaching through any one member socket sets the program for every socket of the group,
 *   and replaces whatever program the group had, without checking who put it there;
 * - nothing detaches when this object, or the socket it was attached through, goes away: the
 *   group keeps the program until `detach()` (SO_DETACH_REUSEPORT_BPF) or until its last
 *   socket closes;
 * - there is no pin and no id to find it by later.
 *
 * The socket fd stays the caller's: this object neither owns nor duplicates it (a duplicate
 * would keep the socket, and so its place in the group, alive after the application closed
 * it), so it must still be open to `replace` or `detach`.
 */
export class ReuseportAttachment implements Disposable {
  readonly socket: Fd;
  readonly sys: Syscalls;
  readonly #detachOnDispose: boolean;
  #program: Program;
  #detached = false;

  private constructor(socket: Fd, program: Program, sys: Syscalls, detachOnDispose: boolean) {
    this.socket = socket;
    this.#program = program;
    this.sys = sys;
    this.#detachOnDispose = detachOnDispose;
  }

  /**
   * Attaches an SK_REUSEPORT (or legacy SOCKET_FILTER) program to the group of `socket`, which
   * must have SO_REUSEPORT set; it may do so before or after bind.
   */
  static attach(socket: Fd, program: Program, options: ReuseportAttachOptions = {}): ReuseportAttachment {
    const sys = options.sys ?? nativeSyscalls();
    setProgram(sys, socket, program);
    return new ReuseportAttachment(socket, program, sys, options.detachOnDispose ?? false);
  }

  /**
   * Stands for a program a group already runs (attached by an earlier process, found again
   * through its pin) without calling setsockopt: the group's data path is not touched.
   */
  static adopt(socket: Fd, program: Program, options: ReuseportAttachOptions = {}): ReuseportAttachment {
    return new ReuseportAttachment(socket, program, options.sys ?? nativeSyscalls(), options.detachOnDispose ?? false);
  }

  /** The program this object last attached. */
  get program(): Program {
    return this.#program;
  }

  get detached(): boolean {
    return this.#detached;
  }

  /**
   * The same group attachment, operated through another member socket: for callers that
   * keep no member open between calls (a socket-select deployment takes one from the owning
   * process only for the setsockopt). The new object shares nothing with this one but the
   * program and the detached state at this moment.
   */
  through(socket: Fd): ReuseportAttachment {
    const other = new ReuseportAttachment(socket, this.#program, this.sys, this.#detachOnDispose);
    other.#detached = this.#detached;
    return other;
  }

  /** Attaches another program to the group in one step: each datagram or SYN sees the old or the new one. */
  replace(program: Program): void {
    setProgram(this.sys, this.socket, program);
    this.#program = program;
    this.#detached = false;
  }

  /** Removes the group's program (whoever attached it); the group goes back to hashing. Harmless twice. */
  detach(): void {
    if (this.#detached) return;
    try {
      this.sys.setsockopt(this.socket, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, new Uint8Array(4));
    } catch (error) {
      // ENOENT: the group has no program (someone detached it, or its sockets were recreated).
      if (!(error instanceof SyscallError && error.code === 'ENOENT')) {
        throw new LinkError('REUSEPORT_DETACH_FAILED', `cannot detach the program of the reuseport group of ${String(this.socket)}.`, { cause: error });
      }
    }
    this.#detached = true;
  }

  /** Detaches only if created with `detachOnDispose`; otherwise the group keeps its program. */
  [Symbol.dispose](): void {
    if (this.#detachOnDispose && !this.socket.closed) this.detach();
  }
}

function setProgram(sys: Syscalls, socket: Fd, program: Program): void {
  if (program.type !== ProgType.SK_REUSEPORT && program.type !== ProgType.SOCKET_FILTER) {
    throw new LinkError('LINK_INCOMPATIBLE', `${String(program)} has program type ${program.type}; a reuseport group takes SK_REUSEPORT or SOCKET_FILTER programs.`);
  }
  const value = new Uint8Array(4);
  new DataView(value.buffer).setUint32(0, program.fd.raw, true);
  try {
    sys.setsockopt(socket, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, value);
  } catch (error) {
    if (!(error instanceof SyscallError)) throw error;
    const hint =
      error.code === 'EINVAL'
        ? 'the socket has no SO_REUSEPORT, or the program\'s expected attach type does not fit'
        : error.code === 'ENOTSOCK'
          ? 'the fd is not a socket'
          : error.message;
    throw new LinkError('REUSEPORT_ATTACH_FAILED', `cannot attach ${String(program)} to the reuseport group of ${String(socket)} (${error.code}): ${hint}.`, {
      cause: error,
    });
  }
}
