import { ERRNO } from '../errors/errno.js';
import { SyscallError } from '../errors/syscall-error.js';
import type { Fd } from '../fd.js';
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
} from './bpf-attr.js';
import { BPF_FS_MAGIC, BPF_OBJ_NAME_LEN, BpfCommand, bpfCommandName, FileFlag, LINK_UPDATE_REPLACE, LinkType } from './bpf-constants.js';
import { EthtoolCommand, IFNAMSIZ, IFREQ_DATA_OFFSET, IFREQ_SIZE, SIOCETHTOOL, ETHTOOL_VALUE_SIZE } from './ethtool-abi.js';
import { FakeMap } from './fake-map.js';
import { FakeMemory } from './fake-memory.js';
import type { SyscallBuffer } from './syscall-buffer.js';
import { Mmap, type BpfObjectKind, type MmapOptions } from './syscalls.js';
import { SyscallsBase } from './syscalls-base.js';

const SYSFS_MAGIC = 0x62656572;
const EXT4_MAGIC = 0xef53;

export interface FakeProg {
  readonly kind: 'prog';
  readonly id: number;
  readonly type: number;
  readonly insns: Uint8Array;
  readonly license: string;
  readonly name: string;
  readonly expectedAttachType: number;
  /** `prog_ifindex`: the device the program is offloaded to, 0 for a host program. */
  readonly ifindex: number;
  readonly tag: Uint8Array;
}

export interface FakeLink {
  readonly kind: 'link';
  readonly id: number;
  prog: FakeProg;
  readonly attachType: number;
  readonly target: number;
  detached: boolean;
}

interface FakeSimple {
  readonly kind: 'btf' | 'pidfd' | 'socket' | 'file' | 'epoll' | 'eventfd';
  readonly id: number;
  readonly options: Map<string, Uint8Array>;
  /** Address family of a socket made with `socket()`. */
  readonly domain?: number;
}

export type FakeObject = FakeMap | FakeProg | FakeLink | FakeSimple;

interface FakeFile {
  readonly object: FakeObject;
  readonly fileFlags: number;
}

interface FakeMapping {
  readonly length: number;
  readonly map: FakeMap | undefined;
}

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

export interface FakeSyscallsOptions {
  /** Possible CPUs, which sizes per-CPU values; defaults to 4 so tests catch "1 CPU" shortcuts. */
  readonly cpus?: number;
}

/**
 * A model of the kernel for unprivileged unit tests. It runs behind the same
 * {@link SyscallsBase} as the native implementation and decodes the attr bytes that would
 * reach bpf(), so the encoders are exercised too. What it models: an fd table (with
 * dup/close and leak inspection), data maps with the kernel's errno answers, pins, object
 * info, programs and links as records, mmap of mmapable arrays onto the map's own storage,
 * and a bpf filesystem that exists once mounted. What it does not: the verifier, file
 * permissions, and real sockets.
 */
export class FakeSyscalls extends SyscallsBase {
  readonly kind = 'fake';
  /** Operation names in call order (`BPF_MAP_LOOKUP_ELEM`, `mmap`, `close`...). */
  readonly calls: string[] = [];
  /** Pinned objects by path. */
  readonly pins = new Map<string, FakeObject>();
  /** Mount points of bpf filesystems. */
  readonly bpffsMounts = new Set<string>();
  /** Interfaces `interfaceIndex` and `interfaceName` know, by name. */
  readonly interfaces = new Map<string, number>();
  /** Interfaces whose tx checksum offload is off (SIOCETHTOOL); every known interface starts with it on. */
  readonly txChecksumOff = new Set<string>();
  /**
   * Indexes of interfaces whose driver offloads BPF: MAP_CREATE and PROG_LOAD with any other
   * ifindex answer EINVAL, as the kernel does for a device without offload (a veth).
   */
  readonly offloadDevices = new Set<number>();
  /** Paths `openFile` can open (namespace files and the like). */
  readonly files = new Set<string>();
  /** Address families `socket()` refuses with EAFNOSUPPORT, as a kernel without them would. */
  readonly unsupportedSocketDomains = new Set<number>();
  /** How PROG_LOAD answers; success by default. */
  onProgLoad: ((prog: FakeProg) => FakeProgLoadAnswer | undefined) | undefined;
  /**
   * Awaited before an asynchronous PROG_LOAD (`progLoadAsync`) reaches the model, which
   * otherwise answers on the next turn of the event loop: a test holds a load in flight, as
   * the verifier would, by returning a promise it settles later.
   */
  progLoadGate: (() => Promise<void>) | undefined;
  /** How PROG_TEST_RUN answers; retval 0 by default. */
  onTestRun: ((prog: FakeProg, dataIn: Uint8Array) => FakeTestRunAnswer) | undefined;
  readonly #memory = new FakeMemory();
  readonly #files = new Map<number, FakeFile>();
  readonly #mappings = new Map<bigint, FakeMapping>();
  readonly #failures = new Map<string, number[]>();
  readonly #remoteFds = new Map<string, FakeObject>();
  readonly #cpus: number;
  #nextFd = 100;
  #nextId = 1;
  #transient: bigint[] = [];

  constructor(options: FakeSyscallsOptions = {}) {
    super();
    this.#cpus = options.cpus ?? 4;
  }

  /** Makes the next call of `operation` (`BPF_MAP_CREATE`, `mmap`...) fail with `errno`. */
  failNext(operation: string, errno: number): void {
    const queue = this.#failures.get(operation) ?? [];
    queue.push(errno);
    this.#failures.set(operation, queue);
  }

  /** Open fd numbers, ascending: what a leak test compares. */
  openFds(): number[] {
    return [...this.#files.keys()].sort((a, b) => a - b);
  }

  /** The object an fd refers to, for assertions. */
  objectOf(fd: Fd): FakeObject | undefined {
    return this.#files.get(fd.raw)?.object;
  }

  /** Live mappings by address. */
  mappings(): ReadonlyMap<bigint, FakeMapping> {
    return this.#mappings;
  }

  /** How many times `operation` was called. */
  count(operation: string): number {
    return this.calls.filter((c) => c === operation).length;
  }

  /** A fake socket fd for setsockopt/getsockopt tests. */
  createSocket(): Fd {
    return this.adopt(this.#install({ kind: 'socket', id: this.#nextId++, options: new Map() }, 0));
  }

  /** Lets pidfd_getfd duplicate `targetFd` of `pid`, as if that process had a socket there. */
  exposeRemoteFd(pid: number, targetFd: number): void {
    this.#remoteFds.set(`${pid}:${targetFd}`, { kind: 'socket', id: this.#nextId++, options: new Map() });
  }

  allocBuffer(size: number): SyscallBuffer {
    const buffer = new ArrayBuffer(size);
    const bytes = new Uint8Array(buffer);
    return { bytes, view: new DataView(buffer), address: this.#memory.register(bytes) };
  }

  possibleCpus(): number {
    return this.#cpus;
  }

  protected addressOfBytes(bytes: Uint8Array): bigint {
    const address = this.#memory.register(bytes);
    this.#transient.push(address);
    return address;
  }

  protected bpf(command: number, attr: SyscallBuffer): number {
    const operation = bpfCommandName(command);
    try {
      const injected = this.#injected(operation);
      if (injected !== undefined) return -injected;
      return this.#dispatch(command, attr.view);
    } finally {
      for (const address of this.#transient) this.#memory.unregister(address);
      this.#transient = [];
    }
  }

  protected async bpfAsync(command: number, attr: SyscallBuffer, encode: () => void): Promise<number> {
    await (this.progLoadGate?.() ?? new Promise<void>((resolve) => setImmediate(resolve)));
    // Encoded only now: the model's transient memory lives for one synchronous call.
    encode();
    return this.bpf(command, attr);
  }

  objectKind(object: Fd): BpfObjectKind | undefined {
    const kind = this.#files.get(object.raw)?.object.kind;
    return kind === 'map' || kind === 'prog' || kind === 'link' || kind === 'btf' ? kind : undefined;
  }

  closeFd(raw: number): void {
    this.#libc('close', `fd ${raw}`);
    if (!this.#files.delete(raw)) throw new SyscallError('close', ERRNO.EBADF, { subject: `fd ${raw}` });
  }

  dupFd(raw: number, minimum: number): number {
    this.#libc('fcntl(F_DUPFD_CLOEXEC)', `fd ${raw}`);
    const file = this.#files.get(raw);
    if (file === undefined) throw new SyscallError('fcntl(F_DUPFD_CLOEXEC)', ERRNO.EBADF, { subject: `fd ${raw}` });
    return this.#install(file.object, file.fileFlags, minimum);
  }

  setsockopt(socket: Fd, level: number, name: number, value: Uint8Array): void {
    this.#libc('setsockopt', String(socket));
    this.#socket(socket, 'setsockopt').options.set(`${level}:${name}`, value.slice());
  }

  getsockopt(socket: Fd, level: number, name: number, value: Uint8Array): number {
    this.#libc('getsockopt', String(socket));
    const stored = this.#socket(socket, 'getsockopt').options.get(`${level}:${name}`);
    if (stored === undefined) throw new SyscallError('getsockopt', ERRNO.ENOPROTOOPT, { subject: String(socket) });
    const length = Math.min(stored.length, value.length);
    value.set(stored.subarray(0, length));
    return length;
  }

  mmap(options: MmapOptions): bigint {
    this.#libc('mmap', options.fd === undefined ? 'anonymous memory' : String(options.fd));
    const fail = (errno: number): never => {
      throw new SyscallError('mmap', errno, { subject: options.fd === undefined ? 'anonymous memory' : String(options.fd) });
    };
    if (options.length <= 0) fail(ERRNO.EINVAL);
    if ((options.flags & Mmap.MAP_ANONYMOUS) !== 0) {
      const bytes = new Uint8Array(options.length);
      if ((options.flags & Mmap.MAP_FIXED) !== 0 && options.address !== undefined) {
        if (!this.#mappings.has(options.address)) fail(ERRNO.EINVAL);
        this.#memory.replace(options.address, bytes);
        this.#mappings.set(options.address, { length: options.length, map: undefined });
        return options.address;
      }
      const address = this.#memory.register(bytes);
      this.#mappings.set(address, { length: options.length, map: undefined });
      return address;
    }
    const object = options.fd === undefined ? undefined : this.#files.get(options.fd.raw)?.object;
    if (object === undefined) return fail(ERRNO.EBADF);
    if (!(object instanceof FakeMap)) return fail(ERRNO.ENODEV);
    if (!object.isArray) return fail(ERRNO.ENOTSUPP);
    if (!object.mmapable) return fail(ERRNO.EINVAL);
    const storage = object.storage as Uint8Array;
    if ((options.flags & Mmap.MAP_SHARED) === 0 || (options.offset ?? 0) !== 0 || options.length > storage.length) {
      fail(ERRNO.EINVAL);
    }
    const address = this.#memory.register(storage);
    this.#mappings.set(address, { length: options.length, map: object });
    return address;
  }

  munmap(address: bigint, length: number): void {
    this.#libc('munmap', `0x${address.toString(16)}`);
    if (!this.#mappings.delete(address) || length <= 0) throw new SyscallError('munmap', ERRNO.EINVAL);
    this.#memory.unregister(address);
  }

  memoryView(address: bigint, length: number): ArrayBuffer {
    const region = this.#memory.regionAt(address);
    if (region === undefined || region.length < length || region.byteOffset !== 0) {
      throw new SyscallError('memoryView', ERRNO.EFAULT);
    }
    return region.buffer as ArrayBuffer;
  }

  mount(source: string, target: string, fsType: string, flags: number, data?: string): void {
    void source;
    void flags;
    void data;
    this.#libc('mount', `${fsType} at ${target}`);
    if (fsType === 'bpf') this.bpffsMounts.add(target);
  }

  statfsType(path: string): number {
    this.#libc('statfs', path);
    for (const mount of this.bpffsMounts) {
      if (path === mount || path.startsWith(`${mount}/`)) return BPF_FS_MAGIC;
    }
    return path.startsWith('/sys/') ? SYSFS_MAGIC : EXT4_MAGIC;
  }

  pidfdOpen(pid: number, flags = 0): Fd {
    this.#libc('pidfd_open', `pid ${pid}`);
    if (!Number.isInteger(pid) || pid <= 0 || flags !== 0) throw new SyscallError('pidfd_open', ERRNO.EINVAL, { subject: `pid ${pid}` });
    return this.adopt(this.#install({ kind: 'pidfd', id: pid, options: new Map() }, 0));
  }

  pidfdGetfd(pidfd: Fd, targetFd: number, flags = 0): Fd {
    this.#libc('pidfd_getfd', String(pidfd));
    const object = this.#files.get(pidfd.raw)?.object;
    if (object?.kind !== 'pidfd' || flags !== 0) throw new SyscallError('pidfd_getfd', ERRNO.EBADF, { subject: String(pidfd) });
    const remote = this.#remoteFds.get(`${object.id}:${targetFd}`);
    if (remote === undefined) throw new SyscallError('pidfd_getfd', ERRNO.EBADF, { subject: `fd ${targetFd} of pid ${object.id}` });
    return this.adopt(this.#install(remote, 0));
  }

  socket(domain: number, type: number, protocol: number): Fd {
    this.#libc('socket', `domain ${domain}`);
    void type;
    void protocol;
    if (this.unsupportedSocketDomains.has(domain)) throw new SyscallError('socket', ERRNO.EAFNOSUPPORT, { subject: `domain ${domain}` });
    return this.adopt(this.#install({ kind: 'socket', id: this.#nextId++, options: new Map(), domain }, 0));
  }

  bind(socket: Fd, address: Uint8Array): void {
    this.#libc('bind', String(socket));
    this.#socket(socket, 'bind').options.set('bound', address.slice());
  }

  openFile(path: string, flags: number): Fd {
    void flags;
    this.#libc('open', path);
    if (!this.files.has(path)) throw new SyscallError('open', ERRNO.ENOENT, { subject: path });
    return this.adopt(this.#install({ kind: 'file', id: this.#nextId++, options: new Map() }, 0));
  }

  setns(namespace: Fd, nstype: number): void {
    void nstype;
    this.#libc('setns', String(namespace));
    if (this.#files.get(namespace.raw)?.object.kind !== 'file') throw new SyscallError('setns', ERRNO.EINVAL, { subject: String(namespace) });
  }

  /** Models SIOCETHTOOL's tx checksum commands on the interfaces in `interfaces`; any other request is ENOTTY. */
  ioctl(fd: Fd, request: number, arg: SyscallBuffer): void {
    this.#libc('ioctl', String(fd));
    this.#socket(fd, 'ioctl');
    const fail = (errno: number): never => {
      throw new SyscallError('ioctl', errno, { subject: `${String(fd)} request 0x${request.toString(16)}` });
    };
    if (request !== SIOCETHTOOL) return fail(ERRNO.ENOTTY);
    if (arg.bytes.length < IFREQ_SIZE) return fail(ERRNO.EFAULT);
    const nameEnd = arg.bytes.subarray(0, IFNAMSIZ).indexOf(0);
    const name = new TextDecoder().decode(arg.bytes.subarray(0, nameEnd < 0 ? IFNAMSIZ : nameEnd));
    if (!this.interfaces.has(name)) return fail(ERRNO.ENODEV);
    const value = this.#memory.resolve(arg.view.getBigUint64(IFREQ_DATA_OFFSET, true), ETHTOOL_VALUE_SIZE);
    if (typeof value === 'number') return fail(-value);
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    switch (view.getUint32(0, true)) {
      case EthtoolCommand.GTXCSUM:
        view.setUint32(4, this.txChecksumOff.has(name) ? 0 : 1, true);
        return;
      case EthtoolCommand.STXCSUM:
        if (view.getUint32(4, true) === 0) this.txChecksumOff.add(name);
        else this.txChecksumOff.delete(name);
        return;
      default:
        return fail(ERRNO.EOPNOTSUPP);
    }
  }

  interfaceIndex(name: string): number {
    this.#libc('if_nametoindex', name);
    return this.interfaces.get(name) ?? 0;
  }

  interfaceName(index: number): string | undefined {
    this.#libc('if_indextoname', String(index));
    for (const [name, known] of this.interfaces) if (known === index) return name;
    return undefined;
  }

  pageSize(): number {
    return 4096;
  }

  epollCreate(): Fd {
    this.#libc('epoll_create1', 'epoll');
    return this.adopt(this.#install({ kind: 'epoll', id: this.#nextId++, options: new Map() }, 0));
  }

  epollCtl(epoll: Fd, op: number, target: Fd, events: number, token: number): void {
    void op;
    void events;
    void token;
    this.#libc('epoll_ctl', String(epoll));
    if (this.#files.get(epoll.raw)?.object.kind !== 'epoll' || !this.#files.has(target.raw)) {
      throw new SyscallError('epoll_ctl', ERRNO.EBADF, { subject: String(target) });
    }
  }

  eventfd(initial: number, flags: number): Fd {
    void initial;
    void flags;
    this.#libc('eventfd', 'eventfd');
    return this.adopt(this.#install({ kind: 'eventfd', id: this.#nextId++, options: new Map() }, 0));
  }

  write(fd: Fd, bytes: Uint8Array): number {
    this.#libc('write', String(fd));
    if (!this.#files.has(fd.raw)) throw new SyscallError('write', ERRNO.EBADF, { subject: String(fd) });
    return bytes.length;
  }

  sendto(socket: Fd, bytes: Uint8Array | null, flags: number, address?: Uint8Array): number {
    void flags;
    void address;
    this.#libc('sendto', String(socket));
    this.#socket(socket, 'sendto');
    return bytes?.length ?? 0;
  }

  #libc(operation: string, subject: string): void {
    this.calls.push(operation);
    const injected = this.#injected(operation, false);
    if (injected !== undefined) throw new SyscallError(operation, injected, { subject });
  }

  #injected(operation: string, record = true): number | undefined {
    if (record) this.calls.push(operation);
    const queue = this.#failures.get(operation);
    return queue?.shift();
  }

  #install(object: FakeObject, fileFlags: number, minimum = 0): number {
    let fd = Math.max(this.#nextFd, minimum);
    while (this.#files.has(fd)) fd++;
    this.#nextFd = fd + 1;
    this.#files.set(fd, { object, fileFlags });
    return fd;
  }

  #socket(socket: Fd, operation: string): FakeSimple {
    const object = this.#files.get(socket.raw)?.object;
    if (object === undefined) throw new SyscallError(operation, ERRNO.EBADF, { subject: String(socket) });
    if (object.kind !== 'socket') throw new SyscallError(operation, ERRNO.ENOTSOCK, { subject: String(socket) });
    return object;
  }

  #file(fd: number): FakeFile | number {
    return this.#files.get(fd) ?? -ERRNO.EBADF;
  }

  #map(fd: number): { map: FakeMap; fileFlags: number } | number {
    const file = this.#file(fd);
    if (typeof file === 'number') return file;
    if (!(file.object instanceof FakeMap)) return -ERRNO.EINVAL;
    return { map: file.object, fileFlags: file.fileFlags };
  }

  #dispatch(command: number, attr: DataView): number {
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
        return this.#install({ kind: 'btf', id: this.#nextId++, options: new Map() }, 0);
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
        const file = this.#file(attr.getUint32(0, true));
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
      this.#nextId,
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
    this.#nextId++;
    return this.#install(map, 0);
  }

  #mapElem(command: number, attr: DataView): number {
    const found = this.#map(attr.getUint32(MapElemOffset.map_fd, true));
    if (typeof found === 'number') return found;
    const { map, fileFlags } = found;
    const keyAddress = attr.getBigUint64(MapElemOffset.key, true);
    const valueAddress = attr.getBigUint64(MapElemOffset.value, true);
    const flags = Number(attr.getBigUint64(MapElemOffset.flags, true));
    const key = keyAddress === 0n && command === BpfCommand.MAP_GET_NEXT_KEY ? undefined : this.#memory.resolve(keyAddress, map.attr.keySize);
    if (typeof key === 'number') return key;
    // The kernel checks the fd's access mode before touching the map (map_get_sys_perms).
    const writes = command === BpfCommand.MAP_UPDATE_ELEM || command === BpfCommand.MAP_DELETE_ELEM;
    if (writes && (fileFlags & FileFlag.RDONLY) !== 0) return -ERRNO.EPERM;
    if (!writes && (fileFlags & FileFlag.WRONLY) !== 0) return -ERRNO.EPERM;
    switch (command) {
      case BpfCommand.MAP_LOOKUP_ELEM: {
        const out = this.#memory.resolve(valueAddress, map.userValueSize);
        return typeof out === 'number' ? out : map.lookup(key as Uint8Array, out);
      }
      case BpfCommand.MAP_UPDATE_ELEM: {
        const value = this.#memory.resolve(valueAddress, map.userValueSize);
        return typeof value === 'number' ? value : map.update(key as Uint8Array, value, flags);
      }
      case BpfCommand.MAP_DELETE_ELEM:
        return map.delete(key as Uint8Array);
      default: {
        const out = this.#memory.resolve(valueAddress, map.attr.keySize);
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
    const keys = this.#memory.resolve(attr.getBigUint64(o.keys, true), count * map.attr.keySize);
    const values = this.#memory.resolve(attr.getBigUint64(o.values, true), count * map.userValueSize);
    const cursorSize = Math.max(map.attr.keySize, 4);
    const outBatch = this.#memory.resolve(attr.getBigUint64(o.out_batch, true), cursorSize);
    if (typeof keys === 'number') return keys;
    if (typeof values === 'number') return values;
    if (typeof outBatch === 'number') return outBatch;
    let copied = 0;
    let done = false;
    if (map.isArray) {
      // Generic batch semantics: in_batch is the previous key, out_batch the last one copied.
      let previous: Uint8Array | undefined;
      if (inBatch !== 0n) {
        const resolved = this.#memory.resolve(inBatch, map.attr.keySize);
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
        const resolved = this.#memory.resolve(inBatch, 4);
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
    const keys = this.#memory.resolve(attr.getBigUint64(o.keys, true), count * map.attr.keySize);
    const values = this.#memory.resolve(attr.getBigUint64(o.values, true), count * map.userValueSize);
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
    const insns = this.#memory.resolve(attr.getBigUint64(o.insns, true), insnCount * 8);
    if (typeof insns === 'number') return insnCount === 0 ? -ERRNO.EINVAL : insns;
    const license = this.#memory.resolveString(attr.getBigUint64(o.license, true));
    if (typeof license === 'number') return license;
    const nameBytes = new Uint8Array(attr.buffer, attr.byteOffset + o.prog_name, BPF_OBJ_NAME_LEN);
    const end = nameBytes.indexOf(0);
    const id = this.#nextId++;
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
      const buffer = this.#memory.resolve(attr.getBigUint64(o.log_buf, true), logSize);
      if (typeof buffer === 'number') return buffer;
      const fits = Math.min(log.length, logSize - 1);
      buffer.set(log.subarray(0, fits));
      buffer[fits] = 0;
      if (fits < log.length) return -ERRNO.ENOSPC;
    }
    if (answer?.errno !== undefined) return -answer.errno;
    return this.#install(prog, 0);
  }

  #progTestRun(attr: DataView): number {
    const o = TestRunOffset;
    const file = this.#file(attr.getUint32(o.prog_fd, true));
    if (typeof file === 'number') return file;
    if (file.object.kind !== 'prog') return -ERRNO.EINVAL;
    const sizeIn = attr.getUint32(o.data_size_in, true);
    const dataIn = sizeIn === 0 ? new Uint8Array(0) : this.#memory.resolve(attr.getBigUint64(o.data_in, true), sizeIn);
    if (typeof dataIn === 'number') return dataIn;
    const answer = this.onTestRun?.(file.object, dataIn) ?? { retval: 0 };
    attr.setUint32(o.retval, answer.retval, true);
    attr.setUint32(o.duration, answer.duration ?? 1, true);
    const dataOut = answer.dataOut ?? dataIn;
    const sizeOut = attr.getUint32(o.data_size_out, true);
    attr.setUint32(o.data_size_out, dataOut.length, true);
    if (sizeOut > 0) {
      if (dataOut.length > sizeOut) return -ERRNO.ENOSPC;
      const out = this.#memory.resolve(attr.getBigUint64(o.data_out, true), dataOut.length);
      if (typeof out === 'number') return out;
      out.set(dataOut);
    }
    return 0;
  }

  #objPin(attr: DataView): number {
    const path = this.#memory.resolveString(attr.getBigUint64(ObjOffset.pathname, true));
    if (typeof path === 'number') return path;
    const file = this.#file(attr.getUint32(ObjOffset.bpf_fd, true));
    if (typeof file === 'number') return file;
    if (this.pins.has(path)) return -ERRNO.EEXIST;
    this.pins.set(path, file.object);
    return 0;
  }

  #objGet(attr: DataView): number {
    const path = this.#memory.resolveString(attr.getBigUint64(ObjOffset.pathname, true));
    if (typeof path === 'number') return path;
    const fileFlags = attr.getUint32(ObjOffset.file_flags, true);
    if ((fileFlags & ~(FileFlag.RDONLY | FileFlag.WRONLY)) !== 0 || fileFlags === (FileFlag.RDONLY | FileFlag.WRONLY)) {
      return -ERRNO.EINVAL;
    }
    const object = this.pins.get(path);
    if (object === undefined) return -ERRNO.ENOENT;
    return this.#install(object, fileFlags);
  }

  #objGetInfo(attr: DataView): number {
    const file = this.#file(attr.getUint32(InfoOffset.bpf_fd, true));
    if (typeof file === 'number') return file;
    const infoLength = attr.getUint32(InfoOffset.info_len, true);
    const info = this.#memory.resolve(attr.getBigUint64(InfoOffset.info, true), infoLength);
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
    const file = this.#file(attr.getUint32(o.prog_fd, true));
    if (typeof file === 'number') return file;
    if (file.object.kind !== 'prog') return -ERRNO.EINVAL;
    const link: FakeLink = {
      kind: 'link',
      id: this.#nextId++,
      prog: file.object,
      attachType: attr.getUint32(o.attach_type, true),
      target: attr.getUint32(o.target, true),
      detached: false,
    };
    return this.#install(link, 0);
  }

  #linkUpdate(attr: DataView): number {
    const o = LinkUpdateOffset;
    const link = this.#file(attr.getUint32(o.link_fd, true));
    const prog = this.#file(attr.getUint32(o.new_prog_fd, true));
    if (typeof link === 'number') return link;
    if (typeof prog === 'number') return prog;
    if (link.object.kind !== 'link' || prog.object.kind !== 'prog') return -ERRNO.EINVAL;
    if (link.object.detached) return -ERRNO.ENOLINK;
    if ((attr.getUint32(o.flags, true) & LINK_UPDATE_REPLACE) !== 0) {
      const old = this.#file(attr.getUint32(o.old_prog_fd, true));
      if (typeof old === 'number') return old;
      if (old.object !== link.object.prog) return -ERRNO.EPERM;
    }
    link.object.prog = prog.object;
    return 0;
  }
}
