import { ERRNO } from '../errors/errno.js';
import { SyscallError } from '../errors/syscall-error.js';
import type { Fd } from '../fd.js';
import { bpfCommandName } from './bpf-constants.js';
import type { BpfObjectKind } from './bpf-syscalls.js';
import { FakeBpfCommands, type FakeProgLoadAnswer, type FakeTestRunAnswer } from './fake/fake-bpf-commands.js';
import { FakeKernel, type FakeLink, type FakeObject, type FakeProg } from './fake/fake-kernel.js';
import { FakeOsCalls, type FakeMapping } from './fake/fake-os-calls.js';
import type { SyscallBuffer } from './syscall-buffer.js';
import type { Syscalls } from './syscalls.js';
import { SyscallsBase } from './syscalls-base.js';

export type { FakeLink, FakeObject, FakeProg, FakeProgLoadAnswer, FakeTestRunAnswer };

export interface FakeSyscallsOptions {
  /** Possible CPUs, which sizes per-CPU values; defaults to 4 so tests catch "1 CPU" shortcuts. */
  readonly cpus?: number;
}

/**
 * The calls a test may replace with {@link FakeSyscalls.override}. Not `closeFd` and `dupFd`: an
 * `Fd` closes and duplicates itself through the OS half directly, so replacing them here would
 * miss most closes; queue a failure with `failNext('close', errno)` instead.
 */
export type OverridableCall = Exclude<keyof Syscalls, 'kind' | 'closeFd' | 'dupFd'>;

/**
 * A model of the kernel for unprivileged unit tests, in the chokepoint's two halves over one
 * shared state ({@link FakeKernel}: fd table, memory, ids, call log): the bpf() commands
 * ({@link FakeBpfCommands}) decode the attr bytes `BpfCommands` encodes for the native call, so
 * the encoders are exercised too, and the OS calls ({@link FakeOsCalls}) model fds, mappings,
 * mounts, pidfds, sockets and epoll. What it does not model: the verifier, file permissions
 * and real sockets.
 *
 * A test shapes the model three ways, from the most faithful to the most direct: by its state
 * (`interfaces`, `pins`, `onProgLoad`...), by `failNext` (the next call of one operation fails
 * at the kernel boundary, with the encoding and errno handling above it still running), and by
 * `override` (one call answers what the test says, the model bypassed, as aya's
 * `override_syscall` does), which shows a test's premise on its page.
 */
export class FakeSyscalls extends SyscallsBase {
  readonly kind = 'fake';
  /** Operation names in call order (`BPF_MAP_LOOKUP_ELEM`, `mmap`, `close`...); overridden calls are not logged. */
  readonly calls: string[];
  /** Pinned objects by path. */
  readonly pins: Map<string, FakeObject>;
  /** Mount points of bpf filesystems. */
  readonly bpffsMounts: Set<string>;
  /** Interfaces `interfaceIndex` and `interfaceName` know, by name. */
  readonly interfaces: Map<string, number>;
  /** Interfaces whose tx checksum offload is off (SIOCETHTOOL); every known interface starts with it on. */
  readonly txChecksumOff: Set<string>;
  /**
   * Indexes of interfaces whose driver offloads BPF: MAP_CREATE and PROG_LOAD with any other
   * ifindex answer EINVAL, as the kernel does for a device without offload (a veth).
   */
  readonly offloadDevices: Set<number>;
  /** Paths `openFile` can open (namespace files and the like). */
  readonly files: Set<string>;
  /** Address families `socket()` refuses with EAFNOSUPPORT, as a kernel without them would. */
  readonly unsupportedSocketDomains: Set<number>;
  /**
   * Awaited before an asynchronous PROG_LOAD (`progLoadAsync`) reaches the model, which
   * otherwise answers on the next turn of the event loop: a test holds a load in flight, as
   * the verifier would, by returning a promise it settles later.
   */
  progLoadGate: (() => Promise<void>) | undefined;
  readonly #kernel: FakeKernel;
  readonly #osModel: FakeOsCalls;
  readonly #bpfModel: FakeBpfCommands;
  readonly #cpus: number;
  /** Addresses lent for the bpf() call in flight, forgotten when it returns. */
  #transient: bigint[] = [];

  constructor(options: FakeSyscallsOptions = {}) {
    const kernel = new FakeKernel();
    const osModel = new FakeOsCalls(kernel);
    super(osModel);
    this.#kernel = kernel;
    this.#osModel = osModel;
    this.#cpus = options.cpus ?? 4;
    this.#bpfModel = new FakeBpfCommands(kernel, this.#cpus);
    this.calls = kernel.calls;
    this.pins = this.#bpfModel.pins;
    this.offloadDevices = this.#bpfModel.offloadDevices;
    this.bpffsMounts = osModel.bpffsMounts;
    this.interfaces = osModel.interfaces;
    this.txChecksumOff = osModel.txChecksumOff;
    this.files = osModel.files;
    this.unsupportedSocketDomains = osModel.unsupportedSocketDomains;
  }

  /** How PROG_LOAD answers; success by default. */
  get onProgLoad(): ((prog: FakeProg) => FakeProgLoadAnswer | undefined) | undefined {
    return this.#bpfModel.onProgLoad;
  }

  set onProgLoad(answer: ((prog: FakeProg) => FakeProgLoadAnswer | undefined) | undefined) {
    this.#bpfModel.onProgLoad = answer;
  }

  /** How PROG_TEST_RUN answers; retval 0 by default. */
  get onTestRun(): ((prog: FakeProg, dataIn: Uint8Array) => FakeTestRunAnswer) | undefined {
    return this.#bpfModel.onTestRun;
  }

  set onTestRun(answer: ((prog: FakeProg, dataIn: Uint8Array) => FakeTestRunAnswer) | undefined) {
    this.#bpfModel.onTestRun = answer;
  }

  /**
   * Replaces one call with `replacement` until the returned handle is disposed (`using`), for
   * the test that states it: `sys.override('statfsType', () => EXT4_MAGIC)`. The replacement
   * answers instead of the model and is not logged in `calls`; it throws to fail (a
   * `SyscallError`, as the real call would). One override per call at a time: a second one
   * throws, so two premises cannot silently fight.
   */
  override<Call extends OverridableCall>(call: Call, replacement: Syscalls[Call]): Disposable {
    if (Object.hasOwn(this, call)) throw new Error(`FakeSyscalls.${call} is already overridden; dispose that override first.`);
    // An own property shadows the method for every caller, the base class's own calls included.
    Object.defineProperty(this, call, { value: replacement, configurable: true, writable: false, enumerable: false });
    return {
      [Symbol.dispose]: () => {
        if (Object.getOwnPropertyDescriptor(this, call)?.value === replacement) Reflect.deleteProperty(this, call);
      },
    };
  }

  /** Makes the next call of `operation` (`BPF_MAP_CREATE`, `mmap`...) fail with `errno`. */
  failNext(operation: string, errno: number): void {
    this.#kernel.failNext(operation, errno);
  }

  /** Open fd numbers, ascending: what a leak test compares. */
  openFds(): number[] {
    return this.#kernel.openFds();
  }

  /** The object an fd refers to, for assertions. */
  objectOf(fd: Fd): FakeObject | undefined {
    return this.#kernel.file(fd.raw)?.object;
  }

  /** Live mappings by address. */
  mappings(): ReadonlyMap<bigint, FakeMapping> {
    return this.#osModel.mappings();
  }

  /** How many times `operation` was called. */
  count(operation: string): number {
    return this.calls.filter((c) => c === operation).length;
  }

  /** A fake socket fd for setsockopt/getsockopt tests. */
  createSocket(): Fd {
    return this.#osModel.createSocket();
  }

  /** Lets pidfd_getfd duplicate `targetFd` of `pid`, as if that process had a socket there. */
  exposeRemoteFd(pid: number, targetFd: number): void {
    this.#osModel.exposeRemoteFd(pid, targetFd);
  }

  /**
   * Makes `fd` readable (or, with false, drained), as data arriving on a ring buffer or a
   * socket would: an epoll set that watches it for EPOLLIN reports it while it stays so.
   */
  signalReadable(fd: Fd, readable = true): void {
    const object = this.#kernel.file(fd.raw)?.object;
    if (object === undefined) throw new SyscallError('signalReadable', ERRNO.EBADF, { subject: String(fd) });
    this.#osModel.signalReadable(object, readable);
  }

  allocBuffer(size: number): SyscallBuffer {
    const buffer = new ArrayBuffer(size);
    const bytes = new Uint8Array(buffer);
    return { bytes, view: new DataView(buffer), address: this.#kernel.memory.register(bytes) };
  }

  possibleCpus(): number {
    return this.#cpus;
  }

  objectKind(object: Fd): BpfObjectKind | undefined {
    const kind = this.#kernel.file(object.raw)?.object.kind;
    return kind === 'map' || kind === 'prog' || kind === 'link' || kind === 'btf' ? kind : undefined;
  }

  protected addressOfBytes(bytes: Uint8Array): bigint {
    const address = this.#kernel.memory.register(bytes);
    this.#transient.push(address);
    return address;
  }

  protected bpf(command: number, attr: SyscallBuffer): number {
    try {
      const injected = this.#kernel.enterBpf(bpfCommandName(command));
      if (injected !== undefined) return -injected;
      return this.#bpfModel.dispatch(command, attr.view);
    } finally {
      for (const address of this.#transient) this.#kernel.memory.unregister(address);
      this.#transient = [];
    }
  }

  protected async bpfAsync(command: number, attr: SyscallBuffer, encode: () => void): Promise<number> {
    await (this.progLoadGate?.() ?? new Promise<void>((resolve) => setImmediate(resolve)));
    // Encoded only now: the model's transient memory lives for one synchronous call.
    encode();
    return this.bpf(command, attr);
  }
}
