import { ERRNO } from '../errors/errno.js';
import { SyscallError } from '../errors/syscall-error.js';
import { Fd, type FdSyscalls } from '../fd.js';
import {
  BtfLoadOffset,
  cString,
  encodeBtfLoad,
  encodeLinkCreate,
  encodeLinkUpdate,
  encodeMapBatch,
  encodeMapCreate,
  encodeMapElem,
  encodeObj,
  encodeObjGetInfo,
  encodeProgLoad,
  encodeProgTestRun,
  InfoOffset,
  LinkDetachOffset,
  MapBatchOffset,
  ProgLoadOffset,
  TestRunOffset,
  type AddressOf,
} from './bpf-attr.js';
import { BPF_ATTR_SIZE, BpfCommand, bpfCommandName } from './bpf-constants.js';
import type { SyscallBuffer } from './syscall-buffer.js';
import type {
  BpfObjectKind,
  BpfSyscalls,
  BtfLoadAttr,
  InfoPointer,
  LinkCreateAttr,
  LinkUpdateOptions,
  LoadOutput,
  MapCreateAttr,
  MapLookupBatchAttr,
  MapLookupBatchResult,
  MapUpdateBatchAttr,
  ProgLoadAttr,
  ProgTestRunAttr,
  ProgTestRunResult,
} from './bpf-syscalls.js';

/** The verifier may be interrupted by a signal and ask to be called again. */
const PROG_LOAD_EAGAIN_RETRIES = 5;

/**
 * The bpf() half of the chokepoint: every command, written once over two primitives,
 * `bpf(command, attr)` and the address of an array. The native implementation backs them with
 * libc, the fake with a model of the kernel that decodes the very attr bytes the native one
 * would pass, so unit tests exercise the same encoding as production (aya swaps one syscall
 * function the same way).
 *
 * Attr memory is allocated once: the element attr is dedicated to the four element
 * commands, whose fields are rewritten in full on every call while the rest stays zero, so a
 * lookup or update allocates nothing; every other command zeroes the general attr first.
 */
export abstract class BpfCommands implements BpfSyscalls {
  /** Closes and duplicates the fds the commands create: the OS half, whose calls those are. */
  readonly #fdOwner: FdSyscalls;
  #attr: SyscallBuffer | undefined;
  #elemAttr: SyscallBuffer | undefined;
  /**
   * What the element attr holds now. A store calls with the same map, key and value buffers
   * every time, so the attr is rewritten only when one of them changes: the kernel never
   * writes into an element command's attr, so what was encoded stays valid.
   */
  #elemMap: Fd | undefined;
  #elemKey: SyscallBuffer | null | undefined;
  #elemValue: SyscallBuffer | undefined;
  #elemFlags = 0;
  /**
   * Arrays whose addresses sit in the attr of the call in flight. Holding them in a field
   * (not a local) keeps them reachable until the call returns: an optimizing compiler may
   * drop a local after its last use, and a collection could then free memory the kernel is
   * about to read.
   */
  readonly #retained: Uint8Array[] = [];
  /** The same for asynchronous calls, one list per call in flight, until it settles. */
  readonly #retainedAsync = new Set<Uint8Array[]>();

  protected constructor(fdOwner: FdSyscalls) {
    this.#fdOwner = fdOwner;
  }

  /** bpf(2): the result, or the negated errno. */
  protected abstract bpf(command: number, attr: SyscallBuffer): number;
  /**
   * bpf(2) off the calling thread: runs `encode` (which fills `attr`) right before the call is
   * issued, then resolves with the result or the negated errno. Encoding is left to the
   * implementation so that the fake can register its memory in the same turn as it reads it.
   */
  protected abstract bpfAsync(command: number, attr: SyscallBuffer, encode: () => void): Promise<number>;
  /** The address of `bytes[0]`, valid while `bytes` is reachable. */
  protected abstract addressOfBytes(bytes: Uint8Array): bigint;

  abstract allocBuffer(size: number): SyscallBuffer;
  abstract possibleCpus(): number;
  abstract objectKind(object: Fd): BpfObjectKind | undefined;

  mapCreate(attr: MapCreateAttr): Fd {
    encodeMapCreate(this.#prepare(), attr);
    return this.adopt(this.#bpfOrThrow(BpfCommand.MAP_CREATE, attr.name === undefined ? undefined : `map '${attr.name}'`));
  }

  mapLookupElem(map: Fd, key: SyscallBuffer, value: SyscallBuffer, flags = 0): boolean {
    return this.#elemAnswer(BpfCommand.MAP_LOOKUP_ELEM, this.#elem(map, key, value, flags), map);
  }

  mapUpdateElem(map: Fd, key: SyscallBuffer, value: SyscallBuffer, flags: number): void {
    const r = this.bpf(BpfCommand.MAP_UPDATE_ELEM, this.#elem(map, key, value, flags));
    if (r < 0) throw new SyscallError('BPF_MAP_UPDATE_ELEM', -r, { subject: String(map) });
  }

  mapDeleteElem(map: Fd, key: SyscallBuffer): boolean {
    return this.#elemAnswer(BpfCommand.MAP_DELETE_ELEM, this.#elem(map, key, undefined, 0), map);
  }

  mapGetNextKey(map: Fd, key: SyscallBuffer | null, next: SyscallBuffer): boolean {
    return this.#elemAnswer(BpfCommand.MAP_GET_NEXT_KEY, this.#elem(map, key, next, 0), map);
  }

  mapLookupBatch(map: Fd, attr: MapLookupBatchAttr): MapLookupBatchResult {
    const view = this.#prepare();
    const pointers = {
      inBatch: attr.inBatch?.address ?? 0n,
      outBatch: attr.outBatch.address,
      keys: attr.keys.address,
      values: attr.values.address,
    };
    encodeMapBatch(view, map.raw, pointers, attr.count, attr.elemFlags ?? 0);
    const r = this.bpf(BpfCommand.MAP_LOOKUP_BATCH, this.#general());
    // The kernel writes back how many elements it copied, also when it answers ENOENT.
    const count = view.getUint32(MapBatchOffset.count, true);
    if (r < 0 && -r !== ERRNO.ENOENT) throw new SyscallError('BPF_MAP_LOOKUP_BATCH', -r, { subject: String(map) });
    return { count, done: r < 0 };
  }

  mapUpdateBatch(map: Fd, attr: MapUpdateBatchAttr): number {
    const view = this.#prepare();
    const pointers = { inBatch: 0n, outBatch: 0n, keys: attr.keys.address, values: attr.values.address };
    encodeMapBatch(view, map.raw, pointers, attr.count, attr.elemFlags ?? 0);
    const r = this.bpf(BpfCommand.MAP_UPDATE_BATCH, this.#general());
    const count = view.getUint32(MapBatchOffset.count, true);
    if (r < 0) throw new SyscallError('BPF_MAP_UPDATE_BATCH', -r, { subject: `${String(map)} after ${count} elements` });
    return count;
  }

  progLoad(attr: ProgLoadAttr, output?: LoadOutput): Fd {
    let r = 0;
    try {
      for (let attempt = 0; attempt <= PROG_LOAD_EAGAIN_RETRIES; attempt++) {
        const view = this.#prepare();
        encodeProgLoad(view, attr, this.#addressOf);
        r = this.bpf(BpfCommand.PROG_LOAD, this.#general());
        if (output) output.logTrueSize = view.getUint32(ProgLoadOffset.log_true_size, true);
        if (r !== -ERRNO.EAGAIN) break;
      }
    } finally {
      this.#release();
    }
    if (r < 0) {
      throw new SyscallError('BPF_PROG_LOAD', -r, { subject: attr.name === undefined ? undefined : `program '${attr.name}'` });
    }
    return this.adopt(r);
  }

  async progLoadAsync(attr: ProgLoadAttr, output?: LoadOutput): Promise<Fd> {
    // Its own attr: the shared one is rewritten by every synchronous call made while this one waits.
    const buffer = this.allocBuffer(BPF_ATTR_SIZE);
    const retained: Uint8Array[] = [buffer.bytes];
    const addressOf: AddressOf = (bytes) => {
      if (bytes === undefined || bytes.length === 0) return 0n;
      retained.push(bytes);
      return this.addressOfBytes(bytes);
    };
    this.#retainedAsync.add(retained);
    let r = 0;
    try {
      for (let attempt = 0; attempt <= PROG_LOAD_EAGAIN_RETRIES; attempt++) {
        r = await this.bpfAsync(BpfCommand.PROG_LOAD, buffer, () => {
          buffer.bytes.fill(0);
          encodeProgLoad(buffer.view, attr, addressOf);
        });
        if (output) output.logTrueSize = buffer.view.getUint32(ProgLoadOffset.log_true_size, true);
        if (r !== -ERRNO.EAGAIN) break;
      }
    } finally {
      this.#retainedAsync.delete(retained);
    }
    if (r < 0) {
      throw new SyscallError('BPF_PROG_LOAD', -r, { subject: attr.name === undefined ? undefined : `program '${attr.name}'` });
    }
    return this.adopt(r);
  }

  progTestRun(attr: ProgTestRunAttr): ProgTestRunResult {
    const view = this.#prepare();
    let r: number;
    try {
      encodeProgTestRun(view, attr, this.#addressOf);
      r = this.bpf(BpfCommand.PROG_TEST_RUN, this.#general());
    } finally {
      this.#release();
    }
    if (r < 0) throw new SyscallError('BPF_PROG_TEST_RUN', -r, { subject: String(attr.prog) });
    return {
      retval: view.getUint32(TestRunOffset.retval, true),
      duration: view.getUint32(TestRunOffset.duration, true),
      dataSizeOut: view.getUint32(TestRunOffset.data_size_out, true),
      ctxSizeOut: view.getUint32(TestRunOffset.ctx_size_out, true),
    };
  }

  btfLoad(attr: BtfLoadAttr, output?: LoadOutput): Fd {
    const view = this.#prepare();
    let r: number;
    try {
      encodeBtfLoad(view, attr, this.#addressOf);
      r = this.bpf(BpfCommand.BTF_LOAD, this.#general());
    } finally {
      this.#release();
    }
    if (output) output.logTrueSize = view.getUint32(BtfLoadOffset.btf_log_true_size, true);
    if (r < 0) throw new SyscallError('BPF_BTF_LOAD', -r);
    return this.adopt(r);
  }

  objPin(object: Fd, path: string): void {
    let r: number;
    try {
      encodeObj(this.#prepare(), this.#addressOf(cString(path)), object.raw, 0);
      r = this.bpf(BpfCommand.OBJ_PIN, this.#general());
    } finally {
      this.#release();
    }
    if (r < 0) throw new SyscallError('BPF_OBJ_PIN', -r, { subject: path });
  }

  objGet(path: string, fileFlags: number): Fd {
    let r: number;
    try {
      encodeObj(this.#prepare(), this.#addressOf(cString(path)), 0, fileFlags);
      r = this.bpf(BpfCommand.OBJ_GET, this.#general());
    } finally {
      this.#release();
    }
    if (r < 0) throw new SyscallError('BPF_OBJ_GET', -r, { subject: path });
    return this.adopt(r);
  }

  objGetInfoByFd(object: Fd, info: Uint8Array, pointers: readonly InfoPointer[] = []): number {
    const infoView = new DataView(info.buffer, info.byteOffset, info.byteLength);
    const view = this.#prepare();
    let r: number;
    try {
      for (const p of pointers) infoView.setBigUint64(p.offset, this.#addressOf(p.buffer), true);
      encodeObjGetInfo(view, object.raw, info.length, this.#addressOf(info));
      r = this.bpf(BpfCommand.OBJ_GET_INFO_BY_FD, this.#general());
    } finally {
      this.#release();
    }
    if (r < 0) throw new SyscallError('BPF_OBJ_GET_INFO_BY_FD', -r, { subject: String(object) });
    return view.getUint32(InfoOffset.info_len, true);
  }

  rawTracepointOpen(name: string, prog: Fd): Fd {
    let r: number;
    try {
      const view = this.#prepare();
      // struct { __u64 name; __u32 prog_fd; __u32 pad; __u64 cookie; } raw_tracepoint
      view.setBigUint64(0, this.#addressOf(cString(name)), true);
      view.setUint32(8, prog.raw, true);
      r = this.bpf(BpfCommand.RAW_TRACEPOINT_OPEN, this.#general());
    } finally {
      this.#release();
    }
    if (r < 0) throw new SyscallError('BPF_RAW_TRACEPOINT_OPEN', -r, { subject: name });
    return this.adopt(r);
  }

  linkCreate(attr: LinkCreateAttr): Fd {
    encodeLinkCreate(this.#prepare(), attr);
    return this.adopt(this.#bpfOrThrow(BpfCommand.LINK_CREATE, String(attr.prog)));
  }

  linkUpdate(link: Fd, newProg: Fd, options?: LinkUpdateOptions): void {
    encodeLinkUpdate(this.#prepare(), link.raw, newProg.raw, options);
    this.#bpfOrThrow(BpfCommand.LINK_UPDATE, String(link));
  }

  linkDetach(link: Fd): void {
    this.#prepare().setUint32(LinkDetachOffset.link_fd, link.raw, true);
    this.#bpfOrThrow(BpfCommand.LINK_DETACH, String(link));
  }

  /** Wraps a number the kernel just returned, owned through the operating-system half. */
  protected adopt(raw: number): Fd {
    return Fd.adopt(raw, this.#fdOwner);
  }

  #general(): SyscallBuffer {
    this.#attr ??= this.allocBuffer(BPF_ATTR_SIZE);
    return this.#attr;
  }

  /** The element attr holding `map`, `key`, `value` (or next key) and `flags`, encoded only if it does not already. */
  #elem(map: Fd, key: SyscallBuffer | null, value: SyscallBuffer | undefined, flags: number): SyscallBuffer {
    const raw = map.raw;
    const attr = (this.#elemAttr ??= this.allocBuffer(BPF_ATTR_SIZE));
    if (map !== this.#elemMap || key !== this.#elemKey || value !== this.#elemValue || flags !== this.#elemFlags) {
      encodeMapElem(attr.view, raw, key?.address ?? 0n, value?.address ?? 0n, flags);
      this.#elemMap = map;
      this.#elemKey = key;
      this.#elemValue = value;
      this.#elemFlags = flags;
    }
    return attr;
  }

  /** Zeroes the general attr: the kernel refuses non-zero bytes past a command's last field. */
  #prepare(): DataView {
    const attr = this.#general();
    attr.bytes.fill(0);
    return attr.view;
  }

  #bpfOrThrow(command: number, subject?: string): number {
    const r = this.bpf(command, this.#general());
    if (r < 0) throw new SyscallError(bpfCommandName(command), -r, { subject });
    return r;
  }

  /** Element commands: ENOENT is an answer (absent key, end of iteration), anything else an error. */
  #elemAnswer(command: number, attr: SyscallBuffer, map: Fd): boolean {
    const r = this.bpf(command, attr);
    if (r >= 0) return true;
    if (-r === ERRNO.ENOENT) return false;
    throw new SyscallError(bpfCommandName(command), -r, { subject: String(map) });
  }

  /** Address of an array for an attr field; the array stays retained until the call ends. */
  readonly #addressOf: AddressOf = (bytes) => {
    if (bytes === undefined || bytes.length === 0) return 0n;
    this.#retained.push(bytes);
    return this.addressOfBytes(bytes);
  };

  #release(): void {
    this.#retained.length = 0;
  }
}
