import { FdError } from './errors/fd-error.js';

/** The two calls an {@link Fd} needs from the syscall layer. */
export interface FdSyscalls {
  closeFd(raw: number): void;
  dupFd(raw: number, minimum: number): number;
}

/** What a leak report says: the number and where the Fd was created. */
export interface FdLeak {
  readonly fd: number;
  readonly createdAt: string | undefined;
}

export type FdLeakReporter = (leak: FdLeak) => void;

interface LeakRecord {
  fd: number;
  createdAt: string | undefined;
}

let leakReporter: FdLeakReporter | undefined;

// Finalization only reports: closing from a finalizer would detach programs and free maps at
// a moment chosen by the garbage collector (cilium/ebpf's object-lifecycle note warns of the
// same), so an unreachable Fd stays open and the report tells the test which one leaked.
const leakRegistry = new FinalizationRegistry<LeakRecord>((record) => leakReporter?.(record));

/**
 * Reports every Fd created from now on that becomes unreachable without being closed or
 * disowned; `undefined` stops reporting. Meant for tests: registration records a stack.
 */
export function reportFdLeaks(reporter: FdLeakReporter | undefined): void {
  leakReporter = reporter;
}

/** The first stack frames outside the fd and syscall layers: where the leaked Fd was asked for. */
function callerFrames(stack: string | undefined): string | undefined {
  return stack
    ?.split('\n')
    .slice(1)
    .filter((frame) => !/[/\\]src[/\\](fd|syscalls[/\\])/.test(frame))
    .slice(0, 4)
    .join('\n');
}

/**
 * An owned file descriptor. It is the only place a raw fd number lives: `close()` is
 * idempotent, `raw` throws once closed (so a stale number can never reach the kernel and hit
 * an fd that was reused meanwhile), `dup()` never returns 0 because 0 means "no fd" in bpf
 * attrs, and `disown()` hands the number to a new owner.
 */
export class Fd implements Disposable {
  #raw: number;
  readonly #sys: FdSyscalls;

  private constructor(raw: number, sys: FdSyscalls) {
    this.#raw = raw;
    this.#sys = sys;
    if (leakReporter !== undefined) {
      leakRegistry.register(this, { fd: raw, createdAt: callerFrames(new Error().stack) }, this);
    }
  }

  /**
   * Takes ownership of `raw`, a number the kernel just returned or another owner disowned. An
   * fd 0 (possible when stdin is closed) is moved to a higher number first.
   */
  static adopt(raw: number, sys: FdSyscalls): Fd {
    if (!Number.isInteger(raw) || raw < 0) {
      throw new FdError('FD_INVALID', `cannot own fd ${String(raw)}: a file descriptor is a non-negative integer.`);
    }
    if (raw === 0) {
      const moved = sys.dupFd(0, 1);
      sys.closeFd(0);
      return new Fd(moved, sys);
    }
    return new Fd(raw, sys);
  }

  /** The number, for building a syscall's arguments; throws once closed or disowned. */
  get raw(): number {
    if (this.#raw < 0) throw new FdError('FD_CLOSED', 'this file descriptor is already closed or disowned.');
    return this.#raw;
  }

  get closed(): boolean {
    return this.#raw < 0;
  }

  /** Closes the fd; calling it again does nothing. */
  close(): void {
    const raw = this.#raw;
    if (raw < 0) return;
    this.#raw = -1;
    leakRegistry.unregister(this);
    this.#sys.closeFd(raw);
  }

  /** A new owned fd for the same open file (F_DUPFD_CLOEXEC, never 0). */
  dup(): Fd {
    return new Fd(this.#sys.dupFd(this.raw, 1), this.#sys);
  }

  /** Gives up ownership and returns the number; the caller must close it or adopt it elsewhere. */
  disown(): number {
    const raw = this.raw;
    this.#raw = -1;
    leakRegistry.unregister(this);
    return raw;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return this.#raw < 0 ? 'fd (closed)' : `fd ${this.#raw}`;
  }
}
