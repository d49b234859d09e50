import { SyscallError } from '../errors/syscall-error.js';
import type { Fd } from '../fd.js';
import type { Program } from '../programs/program.js';
import { ProgType } from '../syscalls/bpf-constants.js';
import { getLinkInfo, type LinkInfo } from '../syscalls/obj-info.js';
import type { Syscalls } from '../syscalls/syscalls.js';
import type { Link } from './link.js';
import { LinkError } from './link-error.js';
import { PinnedLink } from './pinned-link.js';

/**
 * A raw tracepoint program attached to a kernel tracepoint by name (`sched_switch`), through
 * BPF_RAW_TRACEPOINT_OPEN. Raw tracepoints need neither tracefs nor perf events, so they work
 * on a freshly booted machine. The program stays attached while this object is open: it owns
 * the link fd, and closing detaches (unless pinned).
 */
export class RawTracepointLink implements Link {
  readonly tracepoint: string;
  readonly sys: Syscalls;
  readonly #fd: Fd;

  private constructor(tracepoint: string, fd: Fd, sys: Syscalls) {
    this.tracepoint = tracepoint;
    this.#fd = fd;
    this.sys = sys;
  }

  /** Attaches `program` (a BPF_PROG_TYPE_RAW_TRACEPOINT program) to the tracepoint `name`. */
  static attach(program: Program, name: string): RawTracepointLink {
    if (program.type !== ProgType.RAW_TRACEPOINT) {
      throw new LinkError('LINK_INCOMPATIBLE', `program '${program.name}' is not a raw tracepoint program (type ${program.type}), so it cannot attach to tracepoint ${name}.`);
    }
    try {
      return new RawTracepointLink(name, program.sys.rawTracepointOpen(name, program.fd), program.sys);
    } catch (cause) {
      throw new LinkError('LINK_ATTACH_FAILED', `attaching program '${program.name}' to raw tracepoint ${name} failed: ${(cause as Error).message}`, { cause });
    }
  }

  /** The owned fd. */
  get fd(): Fd {
    if (this.#fd.closed) throw new LinkError('LINK_CLOSED', `${this.toString()} is closed.`);
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd.closed;
  }

  info(): LinkInfo {
    return getLinkInfo(this.sys, this.fd);
  }

  /**
   * BPF_LINK_DETACH. Kernels give raw tracepoint links no detach operation (EOPNOTSUPP, said
   * as a LinkError): such a link ends when its last fd closes and its pin is removed.
   */
  detach(): void {
    try {
      this.sys.linkDetach(this.fd);
    } catch (error) {
      if (!(error instanceof SyscallError)) throw error;
      throw new LinkError('LINK_DETACH_FAILED', `cannot detach ${this.toString()} (${error.code}): a raw tracepoint link ends when it is closed and unpinned.`, { cause: error });
    }
  }

  /** Pins the link at `path` in bpffs: the program then stays attached after this process exits, until unpinned and closed. */
  pin(path: string): PinnedLink<RawTracepointLink> {
    return PinnedLink.pin(this, path);
  }

  /** Detaches the program (unless pinned). Harmless twice. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `raw tracepoint link on ${this.tracepoint} (${String(this.#fd)})`;
  }
}
