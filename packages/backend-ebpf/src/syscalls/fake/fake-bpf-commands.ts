import { ERRNO } from '../../errors/errno.js';
import {
  BtfLoadOffset,
  InfoOffset,
  LinkCreateOffset,
  LinkUpdateOffset,
  MapBatchOffset,
  MapCreateOffset,
  MapElemOffset,
  ObjOffset,
  ProgLoadOffset,
  TestRunOffset,
} from '../bpf-attr.js';
import { BPF_OBJ_NAME_LEN, BpfCommand, FileFlag, LINK_UPDATE_REPLACE, LinkType } from '../bpf-constants.js';
import type { FakeKernel, FakeLink, FakeObject, FakeProg } from './fake-kernel.js';
import { FakeMap } from './fake-map.js';

/** What a test wants PROG_LOAD to answer: an errno and a verifier log to write. */
export interface FakeProgLoadAnswer {
  readonly errno?: number;
  readonly log?: string;
}

export interface FakeTestRunAnswer {
  readonly retval: number;
  readonly duration?: number;
  readonly dataOut?: Uint8Array;
}

/**
 * The fake kernel's bpf(2): decodes the attr bytes `BpfCommands` encoded, exactly as the
 * native call would pass them, and answers from the shared {@link FakeKernel} with the
 * kernel's errnos. It models data maps, pins, object info, and programs and links as records;
 * not the verifier (a test says how PROG_LOAD answers) and not file permissions.
 */
export class FakeBpfCommands {
  /** Pinned objects by path. */
  readonly pins = new Map<string, FakeObject>();
  /**
   * Indexes of interfaces whose driver offloads BPF: MAP_CREATE and PROG_LOAD with any other
   * ifindex answer EINVAL, as the kernel does for a device without offload (a veth).
   */
  readonly offloadDevices = new Set<number>();
  /** How PROG_LOAD answers; success by default. */
  onProgLoad: ((prog: FakeProg) => FakeProgLoadAnswer | undefined) | undefined;
  /** How PROG_TEST_RUN answers; retval 0 by default. */
  onTestRun: ((prog: FakeProg, dataIn: Uint8Array) => FakeTestRunAnswer) | undefined;
  readonly #kernel: FakeKernel;
  /** Possible CPUs, which size per-CPU values. */
  readonly #cpus: number;

  constructor(kernel: FakeKernel, cpus: number) {
    this.#kernel = kernel;
    this.#cpus = cpus;
  }

  /** Answers bpf(command, attr) as the kernel would: the result, or the negated errno. */
  dispatch(command: number, attr: DataView): number {
    switch (command) {
      case BpfCommand.MAP_CREATE:
        return this.#mapCreate(attr);
      case BpfCommand.MAP_LOOKUP_ELEM:
      case BpfCommand.MAP_UPDATE_ELEM:
      case BpfCommand.MAP_DELETE_ELEM:
      case BpfCommand.MAP_GET_NEXT_KEY:
        return this.#mapElem(command, attr);
      case BpfCommand.MAP_LOOKUP_BATCH:
        return this.#mapLookupBatch(attr);
      case BpfCommand.MAP_UPDATE_BATCH:
        return this.#mapUpdateBatch(attr);
      case BpfCommand.PROG_LOAD:
        return this.#progLoad(attr);
      case BpfCommand.PROG_TEST_RUN:
        return this.#progTestRun(attr);
      case BpfCommand.BTF_LOAD:
        attr.setUint32(BtfLoadOffset.btf_log_true_size, 0, true);
        return this.#kernel.install({ kind: 'btf', id: this.#kernel.nextId++, options: new Map() }, 0);
      case BpfCommand.OBJ_PIN:
        return this.#objPin(attr);
      case BpfCommand.OBJ_GET:
        return this.#objGet(attr);
      case BpfCommand.OBJ_GET_INFO_BY_FD:
        return this.#objGetInfo(attr);
      case BpfCommand.LINK_CREATE:
        return this.#linkCreate(attr);
      case BpfCommand.LINK_UPDATE:
        return this.#linkUpdate(attr);
      case BpfCommand.LINK_DETACH: {
        const file = this.#kernel.fileOrErrno(attr.getUint32(0, true));
        if (typeof file === 'number') return file;
        if (file.object.kind !== 'link') return -ERRNO.EINVAL;
        file.object.detached = true;
        return 0;
      }
      default:
        return -ERRNO.EINVAL;
    }
  }

  #mapCreate(attr: DataView): number {
    const o = MapCreateOffset;
    const nameBytes = new Uint8Array(attr.buffer, attr.byteOffset + o.map_name, BPF_OBJ_NAME_LEN);
    const end = nameBytes.indexOf(0);
    const map = FakeMap.create(
      this.#kernel.nextId,
      {
        type: attr.getUint32(o.map_type, true),
        keySize: attr.getUint32(o.key_size, true),
        valueSize: attr.getUint32(o.value_size, true),
        maxEntries: attr.getUint32(o.max_entries, true),
        flags: attr.getUint32(o.map_flags, true),
        name: new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? nameBytes.length : end)),
        ifindex: attr.getUint32(o.map_ifindex, true),
      },
      this.#cpus,
    );
    if (typeof map !== 'number' && map.attr.ifindex !== 0 && !this.offloadDevices.has(map.attr.ifindex)) return -ERRNO.EINVAL;
    if (typeof map === 'number') return map;
    this.#kernel.nextId++;
    return this.#kernel.install(map, 0);
  }

  #mapElem(command: number, attr: DataView): number {
    const found = this.#map(attr.getUint32(MapElemOffset.map_fd, true));
    if (typeof found === 'number') return found;
    const { map, fileFlags } = found;
    const keyAddress = attr.getBigUint64(MapElemOffset.key, true);
    const valueAddress = attr.getBigUint64(MapElemOffset.value, true);
    const flags = Number(attr.getBigUint64(MapElemOffset.flags, true));
    const key = keyAddress === 0n && command === BpfCommand.MAP_GET_NEXT_KEY ? undefined : this.#kernel.memory.resolve(keyAddress, map.attr.keySize);
    if (typeof key === 'number') return key;
    // The kernel checks the fd's access mode before touching the map (map_get_sys_perms).
    const writes = command === BpfCommand.MAP_UPDATE_ELEM || command === BpfCommand.MAP_DELETE_ELEM;
    if (writes && (fileFlags & FileFlag.RDONLY) !== 0) return -ERRNO.EPERM;
    if (!writes && (fileFlags & FileFlag.WRONLY) !== 0) return -ERRNO.EPERM;
    switch (command) {
      case BpfCommand.MAP_LOOKUP_ELEM: {
        const out = this.#kernel.memory.resolve(valueAddress, map.userValueSize);
        return typeof out === 'number' ? out : map.lookup(key as Uint8Array, out);
      }
      case BpfCommand.MAP_UPDATE_ELEM: {
        const value = this.#kernel.memory.resolve(valueAddress, map.userValueSize);
        return typeof value === 'number' ? value : map.update(key as Uint8Array, value, flags);
      }
      case BpfCommand.MAP_DELETE_ELEM:
        return map.delete(key as Uint8Array);
      default: {
        const out = this.#kernel.memory.resolve(valueAddress, map.attr.keySize);
        return typeof out === 'number' ? out : map.nextKey(key, out);
      }
    }
  }

  #mapLookupBatch(attr: DataView): number {
    const o = MapBatchOffset;
    const found = this.#map(attr.getUint32(o.map_fd, true));
    if (typeof found === 'number') return found;
    const { map } = found;
    const count = attr.getUint32(o.count, true);
    const inBatch = attr.getBigUint64(o.in_batch, true);
    const keys = this.#kernel.memory.resolve(attr.getBigUint64(o.keys, true), count * map.attr.keySize);
    const values = this.#kernel.memory.resolve(attr.getBigUint64(o.values, true), count * map.userValueSize);
    const cursorSize = Math.max(map.attr.keySize, 4);
    const outBatch = this.#kernel.memory.resolve(attr.getBigUint64(o.out_batch, true), cursorSize);
    if (typeof keys === 'number') return keys;
    if (typeof values === 'number') return values;
    if (typeof outBatch === 'number') return outBatch;
    let copied = 0;
    let done = false;
    if (map.isArray) {
      // Generic batch semantics: in_batch is the previous key, out_batch the last one copied.
      let previous: Uint8Array | undefined;
      if (inBatch !== 0n) {
        const resolved = this.#kernel.memory.resolve(inBatch, map.attr.keySize);
        if (typeof resolved === 'number') return resolved;
        previous = resolved.slice();
      }
      const key = new Uint8Array(map.attr.keySize);
      while (copied < count) {
        if (map.nextKey(previous, key) < 0) {
          done = true;
          break;
        }
        keys.set(key, copied * map.attr.keySize);
        map.lookup(key, values.subarray(copied * map.userValueSize, (copied + 1) * map.userValueSize));
        previous = key.slice();
        copied++;
      }
      if (copied > 0 && previous) outBatch.set(previous);
    } else {
      // Hash batch semantics: the cursor is an opaque position (a bucket in the kernel).
      let position = 0;
      if (inBatch !== 0n) {
        const resolved = this.#kernel.memory.resolve(inBatch, 4);
        if (typeof resolved === 'number') return resolved;
        position = new DataView(resolved.buffer, resolved.byteOffset).getUint32(0, true);
      }
      const entries = map.entriesFrom(position, count);
      for (const entry of entries) {
        keys.set(entry.key, copied * map.attr.keySize);
        values.set(entry.value, copied * map.userValueSize);
        copied++;
      }
      new DataView(outBatch.buffer, outBatch.byteOffset).setUint32(0, position + copied, true);
      done = position + copied >= map.size;
    }
    attr.setUint32(o.count, copied, true);
    return done ? -ERRNO.ENOENT : 0;
  }

  #mapUpdateBatch(attr: DataView): number {
    const o = MapBatchOffset;
    const found = this.#map(attr.getUint32(o.map_fd, true));
    if (typeof found === 'number') return found;
    const { map } = found;
    const count = attr.getUint32(o.count, true);
    const keys = this.#kernel.memory.resolve(attr.getBigUint64(o.keys, true), count * map.attr.keySize);
    const values = this.#kernel.memory.resolve(attr.getBigUint64(o.values, true), count * map.userValueSize);
    if (typeof keys === 'number') return keys;
    if (typeof values === 'number') return values;
    const flags = Number(attr.getBigUint64(o.elem_flags, true));
    for (let i = 0; i < count; i++) {
      const r = map.update(
        keys.subarray(i * map.attr.keySize, (i + 1) * map.attr.keySize),
        values.subarray(i * map.userValueSize, (i + 1) * map.userValueSize),
        flags,
      );
      if (r < 0) {
        attr.setUint32(o.count, i, true);
        return r;
      }
    }
    return 0;
  }

  #progLoad(attr: DataView): number {
    const o = ProgLoadOffset;
    const insnCount = attr.getUint32(o.insn_cnt, true);
    const insns = this.#kernel.memory.resolve(attr.getBigUint64(o.insns, true), insnCount * 8);
    if (typeof insns === 'number') return insnCount === 0 ? -ERRNO.EINVAL : insns;
    const license = this.#kernel.memory.resolveString(attr.getBigUint64(o.license, true));
    if (typeof license === 'number') return license;
    const nameBytes = new Uint8Array(attr.buffer, attr.byteOffset + o.prog_name, BPF_OBJ_NAME_LEN);
    const end = nameBytes.indexOf(0);
    const id = this.#kernel.nextId++;
    const tag = new Uint8Array(8);
    new DataView(tag.buffer).setUint32(4, id);
    const prog: FakeProg = {
      kind: 'prog',
      id,
      type: attr.getUint32(o.prog_type, true),
      insns: insns.slice(),
      license,
      name: new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? nameBytes.length : end)),
      expectedAttachType: attr.getUint32(o.expected_attach_type, true),
      ifindex: attr.getUint32(o.prog_ifindex, true),
      tag,
    };
    if (prog.ifindex !== 0 && !this.offloadDevices.has(prog.ifindex)) return -ERRNO.EINVAL;
    const answer = this.onProgLoad?.(prog);
    const logLevel = attr.getUint32(o.log_level, true);
    const logSize = attr.getUint32(o.log_size, true);
    if (logLevel === 0 && attr.getBigUint64(o.log_buf, true) !== 0n) return -ERRNO.EINVAL;
    const log = new TextEncoder().encode(answer?.log ?? '');
    attr.setUint32(o.log_true_size, log.length === 0 ? 0 : log.length + 1, true);
    if (logLevel > 0 && log.length > 0) {
      const buffer = this.#kernel.memory.resolve(attr.getBigUint64(o.log_buf, true), logSize);
      if (typeof buffer === 'number') return buffer;
      const fits = Math.min(log.length, logSize - 1);
      buffer.set(log.subarray(0, fits));
      buffer[fits] = 0;
      if (fits < log.length) return -ERRNO.ENOSPC;
    }
    if (answer?.errno !== undefined) return -answer.errno;
    return this.#kernel.install(prog, 0);
  }

  #progTestRun(attr: DataView): number {
    const o = TestRunOffset;
    const file = this.#kernel.fileOrErrno(attr.getUint32(o.prog_fd, true));
    if (typeof file === 'number') return file;
    if (file.object.kind !== 'prog') return -ERRNO.EINVAL;
    const sizeIn = attr.getUint32(o.data_size_in, true);
    const dataIn = sizeIn === 0 ? new Uint8Array(0) : this.#kernel.memory.resolve(attr.getBigUint64(o.data_in, true), sizeIn);
    if (typeof dataIn === 'number') return dataIn;
    const answer = this.onTestRun?.(file.object, dataIn) ?? { retval: 0 };
    attr.setUint32(o.retval, answer.retval, true);
    attr.setUint32(o.duration, answer.duration ?? 1, true);
    const dataOut = answer.dataOut ?? dataIn;
    const sizeOut = attr.getUint32(o.data_size_out, true);
    attr.setUint32(o.data_size_out, dataOut.length, true);
    if (sizeOut > 0) {
      if (dataOut.length > sizeOut) return -ERRNO.ENOSPC;
      const out = this.#kernel.memory.resolve(attr.getBigUint64(o.data_out, true), dataOut.length);
      if (typeof out === 'number') return out;
      out.set(dataOut);
    }
    return 0;
  }

  #objPin(attr: DataView): number {
    const path = this.#kernel.memory.resolveString(attr.getBigUint64(ObjOffset.pathname, true));
    if (typeof path === 'number') return path;
    const file = this.#kernel.fileOrErrno(attr.getUint32(ObjOffset.bpf_fd, true));
    if (typeof file === 'number') return file;
    if (this.pins.has(path)) return -ERRNO.EEXIST;
    this.pins.set(path, file.object);
    return 0;
  }

  #objGet(attr: DataView): number {
    const path = this.#kernel.memory.resolveString(attr.getBigUint64(ObjOffset.pathname, true));
    if (typeof path === 'number') return path;
    const fileFlags = attr.getUint32(ObjOffset.file_flags, true);
    if ((fileFlags & ~(FileFlag.RDONLY | FileFlag.WRONLY)) !== 0 || fileFlags === (FileFlag.RDONLY | FileFlag.WRONLY)) {
      return -ERRNO.EINVAL;
    }
    const object = this.pins.get(path);
    if (object === undefined) return -ERRNO.ENOENT;
    return this.#kernel.install(object, fileFlags);
  }

  #objGetInfo(attr: DataView): number {
    const file = this.#kernel.fileOrErrno(attr.getUint32(InfoOffset.bpf_fd, true));
    if (typeof file === 'number') return file;
    const infoLength = attr.getUint32(InfoOffset.info_len, true);
    const info = this.#kernel.memory.resolve(attr.getBigUint64(InfoOffset.info, true), infoLength);
    if (typeof info === 'number') return info;
    const full = new Uint8Array(256);
    const view = new DataView(full.buffer);
    const object = file.object;
    let size: number;
    if (object instanceof FakeMap) {
      size = 88;
      view.setUint32(0, object.attr.type, true);
      view.setUint32(4, object.id, true);
      view.setUint32(8, object.attr.keySize, true);
      view.setUint32(12, object.attr.valueSize, true);
      view.setUint32(16, object.attr.maxEntries, true);
      view.setUint32(20, object.attr.flags, true);
      full.set(new TextEncoder().encode(object.attr.name), 24);
      view.setUint32(40, object.attr.ifindex, true);
    } else if (object.kind === 'prog') {
      size = 232;
      view.setUint32(0, object.type, true);
      view.setUint32(4, object.id, true);
      full.set(object.tag, 8);
      view.setUint32(20, object.insns.length, true);
      full.set(new TextEncoder().encode(object.name), 64);
      view.setUint32(80, object.ifindex, true);
    } else if (object.kind === 'link') {
      size = 48;
      view.setUint32(0, LinkType.XDP, true);
      view.setUint32(4, object.id, true);
      view.setUint32(8, object.prog.id, true);
      view.setUint32(16, object.target, true);
    } else {
      return -ERRNO.EINVAL;
    }
    const written = Math.min(size, infoLength);
    info.set(full.subarray(0, written));
    attr.setUint32(InfoOffset.info_len, written, true);
    return 0;
  }

  #linkCreate(attr: DataView): number {
    const o = LinkCreateOffset;
    const file = this.#kernel.fileOrErrno(attr.getUint32(o.prog_fd, true));
    if (typeof file === 'number') return file;
    if (file.object.kind !== 'prog') return -ERRNO.EINVAL;
    const link: FakeLink = {
      kind: 'link',
      id: this.#kernel.nextId++,
      prog: file.object,
      attachType: attr.getUint32(o.attach_type, true),
      target: attr.getUint32(o.target, true),
      detached: false,
    };
    return this.#kernel.install(link, 0);
  }

  #linkUpdate(attr: DataView): number {
    const o = LinkUpdateOffset;
    const link = this.#kernel.fileOrErrno(attr.getUint32(o.link_fd, true));
    const prog = this.#kernel.fileOrErrno(attr.getUint32(o.new_prog_fd, true));
    if (typeof link === 'number') return link;
    if (typeof prog === 'number') return prog;
    if (link.object.kind !== 'link' || prog.object.kind !== 'prog') return -ERRNO.EINVAL;
    if (link.object.detached) return -ERRNO.ENOLINK;
    if ((attr.getUint32(o.flags, true) & LINK_UPDATE_REPLACE) !== 0) {
      const old = this.#kernel.fileOrErrno(attr.getUint32(o.old_prog_fd, true));
      if (typeof old === 'number') return old;
      if (old.object !== link.object.prog) return -ERRNO.EPERM;
    }
    link.object.prog = prog.object;
    return 0;
  }

  #map(fd: number): { map: FakeMap; fileFlags: number } | number {
    const file = this.#kernel.fileOrErrno(fd);
    if (typeof file === 'number') return file;
    if (!(file.object instanceof FakeMap)) return -ERRNO.EINVAL;
    return { map: file.object, fileFlags: file.fileFlags };
  }
}
