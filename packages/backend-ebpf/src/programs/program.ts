import { assemble, decode, formatInstruction, type Instruction, type SourceLocation } from '../asm/index.js';
import { AsmError } from '../asm/asm-error.js';
import { errnoHint } from '../errors/errno.js';
import { SyscallError } from '../errors/syscall-error.js';
import { Fd } from '../fd.js';
import { openPinned, pinObject, type PinAccess } from '../pin/pin.js';
import { sanitizeObjectName } from '../syscalls/bpf-attr.js';
import { nativeSyscalls } from '../syscalls/native-syscalls.js';
import { isIfindex, offloadDeviceLabel } from '../syscalls/offload-device.js';
import { getProgInfo, type ProgInfo } from '../syscalls/obj-info.js';
import type { LoadOutput, ProgLoadAttr, Syscalls } from '../syscalls/syscalls.js';
import { sourceFromLineInfo } from './line-info-source.js';
import { ProgramError } from './program-error.js';
import type { MapReference, ProgramLoadSpec } from './program-load-spec.js';
import { TestRunner, type TestRunOptions, type TestRunResult, type TestRunnerOptions } from './test-runner.js';
import { VerifierError } from './verifier-error.js';
import { logText, parseVerifierLog } from './verifier-log.js';

/** aya starts at 10 KiB; a failing policy's log is usually tens of KiB, so fewer retries. */
const FIRST_LOG_SIZE = 64 * 1024;
const LOG_GROWTH = 4;
/** ply's size; past it a log is noise, and the kernel caps log_size at UINT_MAX >> 2 anyway. */
const MAX_LOG_SIZE = 16 * 1024 * 1024;

export interface ProgramOptions {
  /** The syscall layer; the native one by default. */
  readonly sys?: Syscalls;
}

export interface ProgramLoadOptions extends ProgramOptions {
  /**
   * Verify with this log level from the first attempt and keep the log on the program
   * (`verifierLog`), for statistics or debugging. By default the first attempt runs without a
   * log, which is faster, and only a failure is repeated with one.
   */
  readonly logLevel?: 1 | 2;
  /** Upper bound of the log buffer; 16 MiB by default. */
  readonly maxLogSize?: number;
  /**
   * Load the program for the network device with this index (`prog_ifindex`), whose driver
   * runs it (offload, XDP and SCHED_CLS programs). The kernel refuses a device without BPF
   * offload, which becomes a `ProgramError` with code `PROGRAM_OFFLOAD_REFUSED`.
   */
  readonly offloadIfindex?: number;
}

export interface OpenProgramOptions extends ProgramOptions {
  readonly access?: PinAccess;
}

/** Encoded instructions and a way back from a slot to the instruction that fills it. */
interface Encoded {
  readonly bytes: Uint8Array;
  readonly instructionAt: (slot: number) => Instruction | undefined;
}

/**
 * A program loaded into the kernel: it owns the program's fd. Closing drops this process's
 * reference; the kernel frees the program once nothing else holds it (a link, a pin, a
 * program array, a socket group, another fd), so closing a program that is attached through
 * a link does not detach it.
 */
export class Program implements Disposable {
  readonly name: string;
  /** The `ProgType`. */
  readonly type: number;
  readonly sys: Syscalls;
  /** The verifier's log of a load asked to keep one (`logLevel`), otherwise undefined. */
  readonly verifierLog: string | undefined;
  readonly #fd: Fd;
  #runner: TestRunner | undefined;

  private constructor(fd: Fd, name: string, type: number, sys: Syscalls, verifierLog?: string) {
    this.#fd = fd;
    this.name = name;
    this.type = type;
    this.sys = sys;
    this.verifierLog = verifierLog;
  }

  /**
   * Loads `spec` (BPF_PROG_LOAD, after BPF_BTF_LOAD of its BTF). The first attempt runs
   * without a verifier log; a refused program is loaded again with a log that grows on
   * ENOSPC, and the failure becomes a `VerifierError` (with a log) or a `ProgramError`
   * (without one: privileges, limits, attributes). Nothing stays open on failure.
   */
  static load(spec: ProgramLoadSpec, options: ProgramLoadOptions = {}): Program {
    const { sys, name, encoded } = prepare(spec, options);
    let btf: Fd | undefined;
    try {
      if (spec.btf !== undefined) btf = loadBtf(sys, spec.btf.blob, name);
      const attr = loadAttr(spec, name, encoded, btf, options);
      if (options.logLevel === undefined) {
        try {
          return new Program(sys.progLoad(attr), name, spec.type, sys);
        } catch (error) {
          if (!(error instanceof SyscallError)) throw error;
        }
      }
      const loaded = loadWithLog(sys, attr, spec, encoded, options);
      return new Program(loaded.fd, name, spec.type, sys, options.logLevel === undefined ? undefined : loaded.log);
    } finally {
      // The program holds its own reference to the BTF once loaded.
      btf?.close();
    }
  }

  /**
   * `load` with every BPF_PROG_LOAD off the event loop (`Syscalls.progLoadAsync`): what a
   * daemon loading untrusted policies uses, since the verifier may work for seconds on one
   * program. Same attempts, errors and cleanup as `load`; the BTF load, which is bounded by
   * the size of the blob and not by the program's paths, stays synchronous.
   */
  static async loadAsync(spec: ProgramLoadSpec, options: ProgramLoadOptions = {}): Promise<Program> {
    const { sys, name, encoded } = prepare(spec, options);
    let btf: Fd | undefined;
    try {
      if (spec.btf !== undefined) btf = loadBtf(sys, spec.btf.blob, name);
      const attr = loadAttr(spec, name, encoded, btf, options);
      if (options.logLevel === undefined) {
        try {
          return new Program(await sys.progLoadAsync(attr), name, spec.type, sys);
        } catch (error) {
          if (!(error instanceof SyscallError)) throw error;
        }
      }
      const loaded = await loadWithLogAsync(sys, attr, spec, encoded, options);
      return new Program(loaded.fd, name, spec.type, sys, options.logLevel === undefined ? undefined : loaded.log);
    } finally {
      btf?.close();
    }
  }

  /** Opens the program pinned at `path` (BPF_OBJ_GET). */
  static open(path: string, options: OpenProgramOptions = {}): Program {
    const sys = options.sys ?? nativeSyscalls();
    return Program.fromFd(openPinned(path, { sys, ...(options.access === undefined ? {} : { access: options.access }) }), { sys });
  }

  /** Takes ownership of a program fd obtained elsewhere; closes it if it is not a program. */
  static fromFd(fd: Fd, options: ProgramOptions = {}): Program {
    const sys = options.sys ?? nativeSyscalls();
    let info: ProgInfo;
    try {
      const kind = sys.objectKind(fd);
      if (kind !== 'prog') {
        throw new ProgramError('PROGRAM_INCOMPATIBLE', `${String(fd)} is ${kind === undefined ? 'not a bpf object' : `a bpf ${kind}`}, not a program.`);
      }
      info = getProgInfo(sys, fd);
    } catch (error) {
      fd.close();
      if (error instanceof ProgramError) throw error;
      throw new ProgramError('PROGRAM_INCOMPATIBLE', `${String(fd)} is not a program the kernel can describe.`, { cause: error });
    }
    return new Program(fd, info.name, info.type, sys);
  }

  /** The owned fd, for attaching and for program arrays. */
  get fd(): Fd {
    if (this.#fd.closed) throw new ProgramError('PROGRAM_CLOSED', `program '${this.name}' is closed.`);
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd.closed;
  }

  /** The kernel's description: id, tag, name, type, run statistics. */
  info(options: { mapIds?: boolean } = {}): ProgInfo {
    return getProgInfo(this.sys, this.fd, options);
  }

  /** Pins the program at `path` in bpffs, so it outlives this process. */
  pin(path: string): void {
    pinObject(this.fd, path, { sys: this.sys });
  }

  /**
   * Runs the program once (or `repeat` times) on `data` with BPF_PROG_TEST_RUN, for XDP,
   * SCHED_CLS and SOCKET_FILTER programs. The result owns a copy of the output packet; for
   * many calls, `testRunner()` reuses its buffers instead.
   */
  testRun(data: Uint8Array, options: TestRunOptions = {}): TestRunResult {
    this.#runner ??= new TestRunner(this);
    const result = this.#runner.run(data, options);
    return { ...result, dataOut: result.dataOut.slice(), ...(result.ctxOut === undefined ? {} : { ctxOut: result.ctxOut.slice() }) };
  }

  /** A runner with preallocated buffers, for repeated test runs. */
  testRunner(options: TestRunnerOptions = {}): TestRunner {
    return new TestRunner(this, options);
  }

  /** Closes this process's fd; calling it again does nothing. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `program '${this.name}' (${String(this.#fd)})`;
  }
}

/** The syscalls, the sanitized name and the encoded instructions, after checking the options. */
function prepare(spec: ProgramLoadSpec, options: ProgramLoadOptions): { sys: Syscalls; name: string; encoded: Encoded } {
  const sys = options.sys ?? nativeSyscalls();
  const name = sanitizeObjectName(spec.name);
  if (options.offloadIfindex !== undefined && !isIfindex(options.offloadIfindex)) {
    throw new ProgramError('PROGRAM_SPEC_INVALID', `program '${name}': offload ifindex ${String(options.offloadIfindex)} is not a positive 32-bit integer.`);
  }
  return { sys, name, encoded: encode(spec, name) };
}

function loadAttr(spec: ProgramLoadSpec, name: string, encoded: Encoded, btf: Fd | undefined, options: ProgramLoadOptions): ProgLoadAttr {
  return {
    progType: spec.type,
    insns: encoded.bytes,
    license: spec.license,
    name,
    ...(options.offloadIfindex === undefined ? {} : { ifindex: options.offloadIfindex }),
    ...(spec.expectedAttachType === undefined ? {} : { expectedAttachType: spec.expectedAttachType }),
    ...(spec.flags === undefined ? {} : { progFlags: spec.flags }),
    ...(btf === undefined ? {} : { progBtf: btf }),
    ...(spec.btf?.lineInfo === undefined ? {} : { lineInfo: spec.btf.lineInfo }),
    ...(spec.btf?.funcInfo === undefined ? {} : { funcInfo: spec.btf.funcInfo }),
  };
}

function fdOf(reference: MapReference): Fd {
  return reference instanceof Fd ? reference : reference.fd;
}

function encode(spec: ProgramLoadSpec, name: string): Encoded {
  const { instructions } = spec;
  if (instructions instanceof Uint8Array) {
    let decoded: Instruction[] | undefined;
    let slots: (Instruction | undefined)[] | undefined;
    return {
      bytes: instructions,
      instructionAt: (slot) => {
        if (slots === undefined) {
          try {
            decoded = decode(instructions);
          } catch {
            decoded = [];
          }
          slots = slotTable(decoded);
        }
        return slots[slot];
      },
    };
  }
  const { maps } = spec;
  const resolve = (mapName: string): number | undefined => {
    const reference = maps === undefined ? undefined : typeof maps === 'function' ? maps(mapName) : maps.get(mapName);
    return reference === undefined ? undefined : fdOf(reference).raw;
  };
  try {
    const assembled = assemble(instructions, { maps: resolve });
    const slots = slotTable(assembled.instructions);
    return { bytes: assembled.bytes, instructionAt: (slot) => slots[slot] };
  } catch (error) {
    if (!(error instanceof AsmError)) throw error;
    throw new ProgramError('PROGRAM_SPEC_INVALID', `program '${name}' cannot be assembled: ${error.message}`, { cause: error });
  }
}

function slotTable(instructions: readonly Instruction[]): (Instruction | undefined)[] {
  const slots: (Instruction | undefined)[] = [];
  for (const ins of instructions) {
    slots.push(ins);
    if (ins.slots === 2) slots.push(undefined);
  }
  return slots;
}

function loadBtf(sys: Syscalls, blob: Uint8Array, name: string): Fd {
  try {
    return sys.btfLoad({ btf: blob });
  } catch (error) {
    if (!(error instanceof SyscallError)) throw error;
    // Load again with a log, only to say why.
    const log = new Uint8Array(FIRST_LOG_SIZE);
    let reason = '';
    try {
      sys.btfLoad({ btf: blob, logLevel: 1, logBuffer: log }).close();
    } catch {
      reason = logText(log).trim().split('\n').pop() ?? '';
    }
    throw new ProgramError(
      'PROGRAM_BTF_REJECTED',
      `the BTF of program '${name}' was refused with ${error.code}${reason === '' ? '' : `: ${reason}`}.`,
      { cause: error },
    );
  }
}

/**
 * One attempt of a load with a log: the fd and the log, or `grow` with the size to try next
 * (the kernel said ENOSPC), or the error to throw. Shared by the synchronous and the
 * asynchronous loop, which differ only in how they call BPF_PROG_LOAD.
 */
type LogAttempt = { fd: Fd; log: string } | { grow: number } | { error: Error };

function logAttemptOf(
  outcome: { fd: Fd } | { error: unknown },
  log: Uint8Array,
  output: LoadOutput,
  size: number,
  maxLogSize: number,
  attr: ProgLoadAttr,
  spec: ProgramLoadSpec,
  encoded: Encoded,
  sys: Syscalls,
): LogAttempt {
  if ('fd' in outcome) return { fd: outcome.fd, log: logText(log) };
  const { error } = outcome;
  if (!(error instanceof SyscallError)) return { error: error as Error };
  if (error.code === 'ENOSPC' && size < maxLogSize) {
    // 6.4+ says how much it needs; older kernels only that it was not enough.
    return { grow: Math.min(maxLogSize, output.logTrueSize > size ? output.logTrueSize : size * LOG_GROWTH) };
  }
  return { error: failure(error, logText(log), spec, encoded, attr.name ?? spec.name, attr.ifindex === undefined ? undefined : { sys, ifindex: attr.ifindex }) };
}

function loadWithLog(
  sys: Syscalls,
  attr: ProgLoadAttr,
  spec: ProgramLoadSpec,
  encoded: Encoded,
  options: ProgramLoadOptions,
): { fd: Fd; log: string } {
  const maxLogSize = options.maxLogSize ?? MAX_LOG_SIZE;
  const logLevel = options.logLevel ?? 1;
  let size = Math.min(FIRST_LOG_SIZE, maxLogSize);
  for (;;) {
    const log = new Uint8Array(size);
    const output: LoadOutput = { logTrueSize: 0 };
    let outcome: { fd: Fd } | { error: unknown };
    try {
      outcome = { fd: sys.progLoad({ ...attr, logLevel, logBuffer: log }, output) };
    } catch (error) {
      outcome = { error };
    }
    const attempt = logAttemptOf(outcome, log, output, size, maxLogSize, attr, spec, encoded, sys);
    if ('error' in attempt) throw attempt.error;
    if ('grow' in attempt) size = attempt.grow;
    else return attempt;
  }
}

async function loadWithLogAsync(
  sys: Syscalls,
  attr: ProgLoadAttr,
  spec: ProgramLoadSpec,
  encoded: Encoded,
  options: ProgramLoadOptions,
): Promise<{ fd: Fd; log: string }> {
  const maxLogSize = options.maxLogSize ?? MAX_LOG_SIZE;
  const logLevel = options.logLevel ?? 1;
  let size = Math.min(FIRST_LOG_SIZE, maxLogSize);
  for (;;) {
    const log = new Uint8Array(size);
    const output: LoadOutput = { logTrueSize: 0 };
    let outcome: { fd: Fd } | { error: unknown };
    try {
      outcome = { fd: await sys.progLoadAsync({ ...attr, logLevel, logBuffer: log }, output) };
    } catch (error) {
      outcome = { error };
    }
    const attempt = logAttemptOf(outcome, log, output, size, maxLogSize, attr, spec, encoded, sys);
    if ('error' in attempt) throw attempt.error;
    if ('grow' in attempt) size = attempt.grow;
    else return attempt;
  }
}

function failure(
  error: SyscallError,
  text: string,
  spec: ProgramLoadSpec,
  encoded: Encoded,
  name: string,
  offload: { sys: Syscalls; ifindex: number } | undefined,
): Error {
  if (text.trim() === '' && offload !== undefined && error.code !== 'EPERM') {
    // The kernel checks the device before verifying anything: an empty log means it said no.
    return new ProgramError(
      'PROGRAM_OFFLOAD_REFUSED',
      `program '${name}' could not be loaded for offload to ${offloadDeviceLabel(offload.sys, offload.ifindex)}: the kernel answered ${error.code}${error.code === 'EINVAL' ? ', as it does for a device whose driver does not offload BPF programs' : ''}.`,
      { cause: error },
    );
  }
  if (text.trim() === '') {
    const hint =
      error.code === 'EPERM'
        ? 'loading programs needs CAP_BPF with CAP_NET_ADMIN or CAP_PERFMON (or root), and kernels before 5.11 also a large enough RLIMIT_MEMLOCK'
        : error.code === 'EINVAL'
          ? 'the kernel refused the program type, attach type, flags or license before verifying anything'
          : errnoHint('BPF_PROG_LOAD', error.code);
    return new ProgramError('PROGRAM_LOAD_FAILED', `program '${name}' could not be loaded (${error.code}): ${hint}.`, { cause: error });
  }
  const parsed = parseVerifierLog(text);
  const slot = parsed.failingInstruction;
  const ins = slot === undefined ? undefined : encoded.instructionAt(slot);
  let source: SourceLocation | undefined = ins?.source;
  if (source === undefined && slot !== undefined) source = spec.sourceOfSlot?.(slot);
  if (source === undefined && slot !== undefined && spec.btf?.lineInfo !== undefined) {
    source = sourceFromLineInfo(spec.btf.blob, spec.btf.lineInfo, slot);
  }
  if (source === undefined && parsed.sourceLine !== undefined) {
    source = { file: parsed.sourceLine.file, line: parsed.sourceLine.line, column: 0 };
  }
  return new VerifierError({
    programName: name,
    errno: error.errno,
    log: parsed.lines,
    summary: parsed.summary,
    failingInstruction: slot,
    instruction: ins === undefined ? parsed.failingInstructionText : formatInstruction(ins),
    source,
    truncated: parsed.truncated,
    cause: error,
  });
}
