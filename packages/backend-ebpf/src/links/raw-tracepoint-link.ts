import type { Fd } from '../fd.js';
import type { Program } from '../programs/program.js';
import { ProgType } from '../syscalls/bpf-constants.js';
import { LinkError } from './link-error.js';

/**
 * A raw tracepoint program attached to a kernel tracepoint by name (`sched_switch`), through
 * BPF_RAW_TRACEPOINT_OPEN. Raw tracepoints need neither tracefs nor perf events, so they work
 * on a freshly booted machine. The program stays attached while this object is open: it owns
 * the link fd, and closing detaches (no pin, so nothing outlives the process).
 */
export class RawTracepointLink implements Disposable {
  readonly tracepoint: string;
  readonly #fd: Fd;

  private constructor(tracepoint: string, fd: Fd) {
    this.tracepoint = tracepoint;
    this.#fd = fd;
  }

  /** Attaches `program` (a BPF_PROG_TYPE_RAW_TRACEPOINT program) to the tracepoint `name`. */
  static attach(program: Program, name: string): RawTracepointLink {
    if (program.type !== ProgType.RAW_TRACEPOINT) {
      throw new LinkError('LINK_INCOMPATIBLE', `program '${program.name}' is not a raw tracepoint program (type ${program.type}), so it cannot attach to tracepoint ${name}.`);
    }
    try {
      return new RawTracepointLink(name, program.sys.rawTracepointOpen(name, program.fd));
    } catch (cause) {
      throw new LinkError('LINK_ATTACH_FAILED', `attaching program '${program.name}' to raw tracepoint ${name} failed: ${(cause as Error).message}`, { cause });
    }
  }

  get closed(): boolean {
    return this.#fd.closed;
  }

  /** Detaches the program. Harmless twice. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
