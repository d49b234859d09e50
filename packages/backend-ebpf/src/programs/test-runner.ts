import { SyscallError } from '../errors/syscall-error.js';
import { ProgType } from '../syscalls/bpf-constants.js';
import type { Fd } from '../fd.js';
import type { ProgTestRunAttr, Syscalls } from '../syscalls/syscalls.js';
import { ProgramError } from './program-error.js';

/** `struct xdp_md` fields a test run may set; data, data_meta and data_end follow from the packet. */
export interface XdpContextInput {
  readonly ingressIfindex?: number;
  readonly rxQueueIndex?: number;
}

export interface TestRunOptions {
  /** Runs; the duration is their average. 0 and 1 both mean once. */
  readonly repeat?: number;
  /** The context: raw bytes (`xdp_md`, `__sk_buff`), or the XDP fields by name. */
  readonly ctxIn?: Uint8Array | XdpContextInput;
}

export interface TestRunnerOptions {
  /** Room for the output packet beyond the input's length (XDP may grow a packet by its headroom). */
  readonly extraDataOut?: number;
  /** Read the context back after the run (`ctxOut` of the result). */
  readonly ctxOut?: boolean;
}

export interface TestRunResult {
  /** The program's return value. */
  readonly retval: number;
  /** The return value by name (`XDP_PASS`, `TC_ACT_SHOT`); undefined for socket filters, whose value is a length. */
  readonly verdict: string | undefined;
  /** The packet after the run, sized to what the kernel wrote. */
  readonly dataOut: Uint8Array;
  /** Nanoseconds per run as the kernel timed it (loop overhead included, clamped to u32). */
  readonly durationNs: number;
  /** The context after the run, when asked for. */
  readonly ctxOut?: Uint8Array;
}

const XDP_VERDICTS = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'];
const TC_VERDICTS = ['TC_ACT_OK', 'TC_ACT_RECLASSIFY', 'TC_ACT_SHOT', 'TC_ACT_PIPE', 'TC_ACT_STOLEN', 'TC_ACT_QUEUED', 'TC_ACT_REPEAT', 'TC_ACT_REDIRECT'];
const TC_ACT_UNSPEC = 0xffff_ffff;
const XDP_MD_SIZE = 24;
/** `struct __sk_buff` as of 6.x; the kernel accepts a shorter one as long as the rest would be zero. */
const SKB_CTX_SIZE = 192;
const XDP_HEADROOM_GROWTH = 256;
const TESTABLE: ReadonlySet<number> = new Set([ProgType.XDP, ProgType.SCHED_CLS, ProgType.SOCKET_FILTER]);

/** The name of an XDP or TC return value, or undefined. */
export function verdictName(programType: number, retval: number): string | undefined {
  if (programType === ProgType.XDP) return XDP_VERDICTS[retval] ?? `XDP_${retval}`;
  if (programType === ProgType.SCHED_CLS) return retval === TC_ACT_UNSPEC ? 'TC_ACT_UNSPEC' : (TC_VERDICTS[retval] ?? `TC_ACT_${retval}`);
  return undefined;
}

/**
 * What a test run needs of a loaded program (a Program is one): its type, its fd, the syscall
 * layer it was loaded through, and a name for messages. Structural, so this file does not
 * import program.ts, which builds its own runs on this one.
 */
export interface TestableProgram {
  readonly type: number;
  readonly fd: Fd;
  readonly sys: Syscalls;
  toString(): string;
}

/**
 * BPF_PROG_TEST_RUN with buffers allocated once and grown only when a larger packet comes:
 * the runner for loops that run a program many times. Results point into those buffers and
 * stay valid until the next `run`.
 */
export class TestRunner {
  readonly #program: TestableProgram;
  readonly #extra: number;
  readonly #wantCtx: boolean;
  #dataOut = new Uint8Array(0);
  #ctxOut: Uint8Array | undefined;
  readonly #xdpCtx = new Uint8Array(XDP_MD_SIZE);

  constructor(program: TestableProgram, options: TestRunnerOptions = {}) {
    if (!TESTABLE.has(program.type)) {
      throw new ProgramError(
        'PROGRAM_INCOMPATIBLE',
        `${String(program)} has program type ${program.type}; test runs here support XDP, SCHED_CLS and SOCKET_FILTER.`,
      );
    }
    this.#program = program;
    this.#extra = options.extraDataOut ?? XDP_HEADROOM_GROWTH + 4096;
    this.#wantCtx = options.ctxOut ?? false;
  }

  run(data: Uint8Array, options: TestRunOptions = {}): TestRunResult {
    const program = this.#program;
    const needed = data.length + this.#extra;
    if (this.#dataOut.length < needed) this.#dataOut = new Uint8Array(needed);
    const ctxIn = this.#context(options.ctxIn, data.length);
    if (this.#wantCtx) this.#ctxOut ??= new Uint8Array(program.type === ProgType.XDP ? XDP_MD_SIZE : SKB_CTX_SIZE);
    const attr: ProgTestRunAttr = {
      prog: program.fd,
      dataIn: data,
      dataOut: this.#dataOut,
      repeat: options.repeat ?? 0,
      ...(ctxIn === undefined ? {} : { ctxIn }),
      ...(this.#ctxOut === undefined ? {} : { ctxOut: this.#ctxOut }),
    };
    let result;
    try {
      result = runThroughSignals(program, attr);
    } catch (error) {
      if (!(error instanceof SyscallError)) throw error;
      const reason =
        error.code === 'EINVAL' && program.type === ProgType.XDP && data.length < 14
          ? 'an XDP test packet needs at least an Ethernet header (14 bytes)'
          : error.message;
      throw new ProgramError('PROGRAM_TEST_RUN_FAILED', `test run of ${String(program)} failed: ${reason}`, { cause: error });
    }
    return {
      retval: result.retval,
      verdict: verdictName(program.type, result.retval),
      dataOut: this.#dataOut.subarray(0, Math.min(result.dataSizeOut, this.#dataOut.length)),
      durationNs: result.duration,
      ...(this.#ctxOut === undefined ? {} : { ctxOut: this.#ctxOut.subarray(0, Math.min(result.ctxSizeOut, this.#ctxOut.length)) }),
    };
  }

  #context(ctx: TestRunOptions['ctxIn'], dataLength: number): Uint8Array | undefined {
    if (ctx === undefined || ctx instanceof Uint8Array) return ctx;
    if (this.#program.type !== ProgType.XDP) {
      throw new ProgramError('PROGRAM_INCOMPATIBLE', `named context fields are XDP's; pass ${String(this.#program)} its context as bytes.`);
    }
    // data_meta = data = 0 and data_end = the packet's length are what the kernel demands.
    const view = new DataView(this.#xdpCtx.buffer);
    view.setUint32(0, 0, true);
    view.setUint32(4, dataLength, true);
    view.setUint32(8, 0, true);
    view.setUint32(12, ctx.ingressIfindex ?? 0, true);
    view.setUint32(16, ctx.rxQueueIndex ?? 0, true);
    view.setUint32(20, 0, true);
    return this.#xdpCtx;
  }
}

/**
 * How often a repeated run interrupted by a signal is started again. The kernel ends a run of
 * more than one repetition with EINTR when a signal is pending between two (a child's exit, a
 * timer); the run itself was fine, so it goes again, as cilium/ebpf's Program.Run does.
 */
const EINTR_RETRIES = 10;

function runThroughSignals(program: TestableProgram, attr: ProgTestRunAttr): ReturnType<Syscalls['progTestRun']> {
  for (let attempt = 0; ; attempt++) {
    try {
      return program.sys.progTestRun(attr);
    } catch (error) {
      if (!(error instanceof SyscallError && error.code === 'EINTR' && attempt < EINTR_RETRIES)) throw error;
    }
  }
}
