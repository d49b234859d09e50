import { ERRNO } from '../../errors/errno.js';
import { SyscallError } from '../../errors/syscall-error.js';
import { Fd } from '../../fd.js';
import { BPF_FS_MAGIC } from '../bpf-constants.js';
import { EthtoolCommand, ETHTOOL_VALUE_SIZE, IFNAMSIZ, IFREQ_DATA_OFFSET, IFREQ_SIZE, SIOCETHTOOL } from '../ethtool-abi.js';
import { Epoll, Mmap, type EpollWaitListener, type EpollWaitThread, type MmapOptions, type OsSyscalls } from '../os-syscalls.js';
import type { SyscallBuffer } from '../syscall-buffer.js';
import { FakeEpollSet } from './fake-epoll.js';
import type { FakeKernel, FakeObject, FakeSimple } from './fake-kernel.js';
import { FakeMap } from './fake-map.js';

const SYSFS_MAGIC = 0x62656572;
const EXT4_MAGIC = 0xef53;

/** A live mapping: anonymous memory, or an mmapable array map's own storage. */
export interface FakeMapping {
  readonly length: number;
  readonly map: FakeMap | undefined;
}

/**
 * The fake kernel's operating-system calls, over the fd table and memory of the shared
 * {@link FakeKernel}: close and dup, mmap of mmapable arrays onto the map's own storage, a bpf
 * filesystem that exists once mounted, pidfds, sockets that store their options, the ethtool
 * tx checksum ioctl, and epoll sets whose thread reports the fds a test (or an eventfd write)
 * made readable. Not real sockets, not file permissions.
 */
export class FakeOsCalls implements OsSyscalls {
  /** Mount points of bpf filesystems. */
  readonly bpffsMounts = new Set<string>();
  /** Interfaces `interfaceIndex` and `interfaceName` know, by name. */
  readonly interfaces = new Map<string, number>();
  /** Interfaces whose tx checksum offload is off (SIOCETHTOOL); every known interface starts with it on. */
  readonly txChecksumOff = new Set<string>();
  /** Paths `openFile` can open (namespace files and the like). */
  readonly files = new Set<string>();
  /** Address families `socket()` refuses with EAFNOSUPPORT, as a kernel without them would. */
  readonly unsupportedSocketDomains = new Set<number>();
  readonly #kernel: FakeKernel;
  readonly #mappings = new Map<bigint, FakeMapping>();
  readonly #remoteFds = new Map<string, FakeObject>();
  readonly #epollSets = new Map<FakeObject, FakeEpollSet>();
  /** Objects a reader would find data on: epoll reports them while armed (level-triggered). */
  readonly #readable = new Set<FakeObject>();

  constructor(kernel: FakeKernel) {
    this.#kernel = kernel;
  }

  /** Live mappings by address. */
  mappings(): ReadonlyMap<bigint, FakeMapping> {
    return this.#mappings;
  }

  /** A fake socket fd for setsockopt/getsockopt tests. */
  createSocket(): Fd {
    return this.#adopt(this.#kernel.install({ kind: 'socket', id: this.#kernel.nextId++, options: new Map() }, 0));
  }

  /** Lets pidfd_getfd duplicate `targetFd` of `pid`, as if that process had a socket there. */
  exposeRemoteFd(pid: number, targetFd: number): void {
    this.#remoteFds.set(`${pid}:${targetFd}`, { kind: 'socket', id: this.#kernel.nextId++, options: new Map() });
  }

  /** Makes an object readable (or no longer, with `readable` false) and wakes the epoll sets watching it. */
  signalReadable(object: FakeObject, readable = true): void {
    if (readable) this.#readable.add(object);
    else this.#readable.delete(object);
    for (const set of this.#epollSets.values()) if (set.interests.has(object)) set.wake();
  }

  closeFd(raw: number): void {
    this.#kernel.enterOs('close', `fd ${raw}`);
    if (!this.#kernel.close(raw)) throw new SyscallError('close', ERRNO.EBADF, { subject: `fd ${raw}` });
  }

  dupFd(raw: number, minimum: number): number {
    this.#kernel.enterOs('fcntl(F_DUPFD_CLOEXEC)', `fd ${raw}`);
    const file = this.#kernel.file(raw);
    if (file === undefined) throw new SyscallError('fcntl(F_DUPFD_CLOEXEC)', ERRNO.EBADF, { subject: `fd ${raw}` });
    return this.#kernel.install(file.object, file.fileFlags, minimum);
  }

  setsockopt(socket: Fd, level: number, name: number, value: Uint8Array): void {
    this.#kernel.enterOs('setsockopt', String(socket));
    this.#socket(socket, 'setsockopt').options.set(`${level}:${name}`, value.slice());
  }

  getsockopt(socket: Fd, level: number, name: number, value: Uint8Array): number {
    this.#kernel.enterOs('getsockopt', String(socket));
    const stored = this.#socket(socket, 'getsockopt').options.get(`${level}:${name}`);
    if (stored === undefined) throw new SyscallError('getsockopt', ERRNO.ENOPROTOOPT, { subject: String(socket) });
    const length = Math.min(stored.length, value.length);
    value.set(stored.subarray(0, length));
    return length;
  }

  mmap(options: MmapOptions): bigint {
    this.#kernel.enterOs('mmap', options.fd === undefined ? 'anonymous memory' : String(options.fd));
    const fail = (errno: number): never => {
      throw new SyscallError('mmap', errno, { subject: options.fd === undefined ? 'anonymous memory' : String(options.fd) });
    };
    if (options.length <= 0) fail(ERRNO.EINVAL);
    if ((options.flags & Mmap.MAP_ANONYMOUS) !== 0) {
      const bytes = new Uint8Array(options.length);
      if ((options.flags & Mmap.MAP_FIXED) !== 0 && options.address !== undefined) {
        if (!this.#mappings.has(options.address)) fail(ERRNO.EINVAL);
        this.#kernel.memory.replace(options.address, bytes);
        this.#mappings.set(options.address, { length: options.length, map: undefined });
        return options.address;
      }
      const address = this.#kernel.memory.register(bytes);
      this.#mappings.set(address, { length: options.length, map: undefined });
      return address;
    }
    const object = options.fd === undefined ? undefined : this.#kernel.file(options.fd.raw)?.object;
    if (object === undefined) return fail(ERRNO.EBADF);
    if (!(object instanceof FakeMap)) return fail(ERRNO.ENODEV);
    if (!object.isArray) return fail(ERRNO.ENOTSUPP);
    if (!object.mmapable) return fail(ERRNO.EINVAL);
    const storage = object.storage as Uint8Array;
    if ((options.flags & Mmap.MAP_SHARED) === 0 || (options.offset ?? 0) !== 0 || options.length > storage.length) {
      fail(ERRNO.EINVAL);
    }
    const address = this.#kernel.memory.register(storage);
    this.#mappings.set(address, { length: options.length, map: object });
    return address;
  }

  munmap(address: bigint, length: number): void {
    this.#kernel.enterOs('munmap', `0x${address.toString(16)}`);
    if (!this.#mappings.delete(address) || length <= 0) throw new SyscallError('munmap', ERRNO.EINVAL);
    this.#kernel.memory.unregister(address);
  }

  memoryView(address: bigint, length: number): ArrayBuffer {
    const region = this.#kernel.memory.regionAt(address);
    if (region === undefined || region.length < length || region.byteOffset !== 0) {
      throw new SyscallError('memoryView', ERRNO.EFAULT);
    }
    return region.buffer as ArrayBuffer;
  }

  mount(source: string, target: string, fsType: string, flags: number, data?: string): void {
    void source;
    void flags;
    void data;
    this.#kernel.enterOs('mount', `${fsType} at ${target}`);
    if (fsType === 'bpf') this.bpffsMounts.add(target);
  }

  statfsType(path: string): number {
    this.#kernel.enterOs('statfs', path);
    for (const mount of this.bpffsMounts) {
      if (path === mount || path.startsWith(`${mount}/`)) return BPF_FS_MAGIC;
    }
    return path.startsWith('/sys/') ? SYSFS_MAGIC : EXT4_MAGIC;
  }

  pidfdOpen(pid: number, flags = 0): Fd {
    this.#kernel.enterOs('pidfd_open', `pid ${pid}`);
    if (!Number.isInteger(pid) || pid <= 0 || flags !== 0) throw new SyscallError('pidfd_open', ERRNO.EINVAL, { subject: `pid ${pid}` });
    return this.#adopt(this.#kernel.install({ kind: 'pidfd', id: pid, options: new Map() }, 0));
  }

  pidfdGetfd(pidfd: Fd, targetFd: number, flags = 0): Fd {
    this.#kernel.enterOs('pidfd_getfd', String(pidfd));
    const object = this.#kernel.file(pidfd.raw)?.object;
    if (object?.kind !== 'pidfd' || flags !== 0) throw new SyscallError('pidfd_getfd', ERRNO.EBADF, { subject: String(pidfd) });
    const remote = this.#remoteFds.get(`${object.id}:${targetFd}`);
    if (remote === undefined) throw new SyscallError('pidfd_getfd', ERRNO.EBADF, { subject: `fd ${targetFd} of pid ${object.id}` });
    return this.#adopt(this.#kernel.install(remote, 0));
  }

  socket(domain: number, type: number, protocol: number): Fd {
    this.#kernel.enterOs('socket', `domain ${domain}`);
    void type;
    void protocol;
    if (this.unsupportedSocketDomains.has(domain)) throw new SyscallError('socket', ERRNO.EAFNOSUPPORT, { subject: `domain ${domain}` });
    return this.#adopt(this.#kernel.install({ kind: 'socket', id: this.#kernel.nextId++, options: new Map(), domain }, 0));
  }

  bind(socket: Fd, address: Uint8Array): void {
    this.#kernel.enterOs('bind', String(socket));
    this.#socket(socket, 'bind').options.set('bound', address.slice());
  }

  openFile(path: string, flags: number): Fd {
    void flags;
    this.#kernel.enterOs('open', path);
    if (!this.files.has(path)) throw new SyscallError('open', ERRNO.ENOENT, { subject: path });
    return this.#adopt(this.#kernel.install({ kind: 'file', id: this.#kernel.nextId++, options: new Map() }, 0));
  }

  setns(namespace: Fd, nstype: number): void {
    void nstype;
    this.#kernel.enterOs('setns', String(namespace));
    if (this.#kernel.file(namespace.raw)?.object.kind !== 'file') throw new SyscallError('setns', ERRNO.EINVAL, { subject: String(namespace) });
  }

  /** Models SIOCETHTOOL's tx checksum commands on the interfaces in `interfaces`; any other request is ENOTTY. */
  ioctl(fd: Fd, request: number, arg: SyscallBuffer): void {
    this.#kernel.enterOs('ioctl', String(fd));
    this.#socket(fd, 'ioctl');
    const fail = (errno: number): never => {
      throw new SyscallError('ioctl', errno, { subject: `${String(fd)} request 0x${request.toString(16)}` });
    };
    if (request !== SIOCETHTOOL) return fail(ERRNO.ENOTTY);
    if (arg.bytes.length < IFREQ_SIZE) return fail(ERRNO.EFAULT);
    const nameEnd = arg.bytes.subarray(0, IFNAMSIZ).indexOf(0);
    const name = new TextDecoder().decode(arg.bytes.subarray(0, nameEnd < 0 ? IFNAMSIZ : nameEnd));
    if (!this.interfaces.has(name)) return fail(ERRNO.ENODEV);
    const value = this.#kernel.memory.resolve(arg.view.getBigUint64(IFREQ_DATA_OFFSET, true), ETHTOOL_VALUE_SIZE);
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
    this.#kernel.enterOs('if_nametoindex', name);
    return this.interfaces.get(name) ?? 0;
  }

  interfaceName(index: number): string | undefined {
    this.#kernel.enterOs('if_indextoname', String(index));
    for (const [name, known] of this.interfaces) if (known === index) return name;
    return undefined;
  }

  pageSize(): number {
    return 4096;
  }

  epollCreate(): Fd {
    this.#kernel.enterOs('epoll_create1', 'epoll');
    const epoll: FakeSimple = { kind: 'epoll', id: this.#kernel.nextId++, options: new Map() };
    this.#epollSets.set(epoll, new FakeEpollSet(this.#readable));
    return this.#adopt(this.#kernel.install(epoll, 0));
  }

  epollCtl(epoll: Fd, op: number, target: Fd, events: number, token: number): void {
    this.#kernel.enterOs('epoll_ctl', String(epoll));
    const set = this.#epollSet(epoll);
    const object = this.#kernel.file(target.raw)?.object;
    if (set === undefined || object === undefined) throw new SyscallError('epoll_ctl', ERRNO.EBADF, { subject: String(target) });
    if (op === Epoll.CTL_DEL) set.interests.delete(object);
    else set.interests.set(object, { events, token });
    set.wake();
  }

  /** A thread of the model (no real thread, so no name): it reports on a later turn whenever an armed fd of the set is readable. */
  epollWaitThread(epoll: Fd, stopToken: number, listener: EpollWaitListener, _threadName?: string): EpollWaitThread {
    this.#kernel.enterOs('epoll_wait', String(epoll));
    const set = this.#epollSet(epoll);
    if (set === undefined) throw new SyscallError('epoll_wait', ERRNO.EINVAL, { subject: String(epoll) });
    return set.startThread(stopToken, listener);
  }

  eventfd(initial: number, flags: number): Fd {
    void initial;
    void flags;
    this.#kernel.enterOs('eventfd', 'eventfd');
    return this.#adopt(this.#kernel.install({ kind: 'eventfd', id: this.#kernel.nextId++, options: new Map() }, 0));
  }

  /** Writing an eventfd makes it readable, which is all the model needs of its counter. */
  write(fd: Fd, bytes: Uint8Array): number {
    this.#kernel.enterOs('write', String(fd));
    const object = this.#kernel.file(fd.raw)?.object;
    if (object === undefined) throw new SyscallError('write', ERRNO.EBADF, { subject: String(fd) });
    if (object.kind === 'eventfd') this.signalReadable(object);
    return bytes.length;
  }

  sendto(socket: Fd, bytes: Uint8Array | null, flags: number, address?: Uint8Array): number {
    void flags;
    void address;
    this.#kernel.enterOs('sendto', String(socket));
    this.#socket(socket, 'sendto');
    return bytes?.length ?? 0;
  }

  #socket(socket: Fd, operation: string): FakeSimple {
    const object = this.#kernel.file(socket.raw)?.object;
    if (object === undefined) throw new SyscallError(operation, ERRNO.EBADF, { subject: String(socket) });
    if (object.kind !== 'socket') throw new SyscallError(operation, ERRNO.ENOTSOCK, { subject: String(socket) });
    return object;
  }

  #epollSet(epoll: Fd): FakeEpollSet | undefined {
    const object = this.#kernel.file(epoll.raw)?.object;
    return object === undefined ? undefined : this.#epollSets.get(object);
  }

  #adopt(raw: number): Fd {
    return Fd.adopt(raw, this);
  }
}
