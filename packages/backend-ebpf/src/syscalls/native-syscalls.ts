import { readFileSync, readlinkSync } from 'node:fs';
import koffi from 'koffi';
import { ERRNO } from '../errors/errno.js';
import { SyscallError } from '../errors/syscall-error.js';
import type { Fd } from '../fd.js';
import { BPF_ATTR_SIZE } from './bpf-constants.js';
import type { BpfObjectKind } from './bpf-syscalls.js';
import { countCpuList } from './cpu-list.js';
import { allocNativeBuffer, NativeOsCalls, type PidfdSyscallNumbers } from './native-os-calls.js';
import type { SyscallBuffer } from './syscall-buffer.js';
import { SyscallsBase } from './syscalls-base.js';

/** Syscall numbers per architecture; pidfd_* came after the tables were unified, so they agree. */
const SYSCALL_NUMBERS: Readonly<Record<string, { bpf: number } & PidfdSyscallNumbers>> = {
  x64: { bpf: 321, pidfdOpen: 434, pidfdGetfd: 438 },
  arm64: { bpf: 280, pidfdOpen: 434, pidfdGetfd: 438 },
};

const POSSIBLE_CPUS_PATH = '/sys/devices/system/cpu/possible';
/** The anonymous-inode names the kernel gives bpf objects' files (bpf_map_new_fd and friends). */
const OBJECT_KINDS: Readonly<Record<string, BpfObjectKind>> = {
  'anon_inode:bpf-map': 'map',
  'anon_inode:bpf-prog': 'prog',
  'anon_inode:bpf_link': 'link',
  // A link reopened from a pin (BPF_OBJ_GET) gets a file named with a dash.
  'anon_inode:bpf-link': 'link',
  'anon_inode:btf': 'btf',
};

type Call = (...args: unknown[]) => number;
/** A koffi function that can also run on a libuv pool thread, its callback called back on this one. */
type AsyncCapableCall = Call & { async: (...args: unknown[]) => void };

/**
 * The real system calls through libc via koffi: the bpf() primitive here, under the commands
 * `BpfCommands` encodes, and the operating-system calls in {@link NativeOsCalls}.
 *
 * glibc's `syscall()` is variadic, but on x86_64 and aarch64 Linux integer and pointer
 * arguments travel in the same registers either way, so a fixed prototype stands in for it and
 * a call needs no per-call type description. errno is read with `koffi.errno()` immediately
 * after the call, before anything else can run on this thread.
 */
export class NativeSyscalls extends SyscallsBase {
  readonly kind = 'native';
  /** bpf(2)'s number, kept apart from the table so the hot path reads one field. */
  readonly #bpfNumber: number;
  readonly #bpfCall: AsyncCapableCall;
  #possibleCpus: number | undefined;

  constructor() {
    const numbers = SYSCALL_NUMBERS[process.arch];
    if (process.platform !== 'linux' || numbers === undefined) {
      throw new SyscallError('bpf', ERRNO.ENOSYS, { subject: `${process.platform}/${process.arch}` });
    }
    const libc = koffi.load('libc.so.6');
    super(new NativeOsCalls(libc, numbers));
    this.#bpfNumber = numbers.bpf;
    this.#bpfCall = libc.func('long syscall(long number, long cmd, void *attr, unsigned long size)') as AsyncCapableCall;
  }

  allocBuffer(size: number): SyscallBuffer {
    return allocNativeBuffer(size);
  }

  possibleCpus(): number {
    this.#possibleCpus ??= countCpuList(readFileSync(POSSIBLE_CPUS_PATH, 'utf8'));
    return this.#possibleCpus;
  }

  protected bpf(command: number, attr: SyscallBuffer): number {
    const r = this.#bpfCall(this.#bpfNumber, command, attr.address, BPF_ATTR_SIZE);
    // errno is read only on failure: koffi keeps it per call, so success costs nothing extra.
    return r < 0 ? -koffi.errno() : r;
  }

  protected bpfAsync(command: number, attr: SyscallBuffer, encode: () => void): Promise<number> {
    encode();
    return new Promise((resolve, reject) => {
      // koffi runs the call on a libuv pool thread and sets errno on this thread, to the pool
      // thread's value after the call, for as long as the callback runs.
      this.#bpfCall.async(this.#bpfNumber, command, attr.address, BPF_ATTR_SIZE, (error: unknown, r: number) => {
        if (error !== null && error !== undefined) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(r < 0 ? -koffi.errno() : r);
      });
    });
  }

  protected addressOfBytes(bytes: Uint8Array): bigint {
    return koffi.address(bytes);
  }

  objectKind(object: Fd): BpfObjectKind | undefined {
    try {
      return OBJECT_KINDS[readlinkSync(`/proc/self/fd/${object.raw}`)];
    } catch {
      return undefined;
    }
  }
}

let shared: NativeSyscalls | undefined;

/** The process-wide native implementation, created on first use so that importing never loads libc. */
export function nativeSyscalls(): NativeSyscalls {
  shared ??= new NativeSyscalls();
  return shared;
}
