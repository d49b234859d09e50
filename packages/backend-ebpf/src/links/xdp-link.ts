import { SyscallError } from '../errors/syscall-error.js';
import type { Fd } from '../fd.js';
import type { Program } from '../programs/program.js';
import { AttachType, LinkType, ProgType } from '../syscalls/bpf-constants.js';
import { nativeSyscalls } from '../syscalls/native-syscalls.js';
import { getLinkInfo, type LinkInfo } from '../syscalls/obj-info.js';
import type { Syscalls } from '../syscalls/syscalls.js';
import { interfaceIndex } from './interface-index.js';
import { LinkError } from './link-error.js';
import type { Link } from './link.js';
import { inNetworkNamespace } from './network-namespace.js';
import { PinnedLink } from './pinned-link.js';

/**
 * Where XDP runs: `skb` is generic XDP after the stack allocated an skb (any device), `drv`
 * is native XDP in the driver (fails on drivers without it), `hw` offloads to the NIC, and
 * `auto` lets the kernel pick drv when the driver has it and skb otherwise.
 */
export type XdpMode = 'skb' | 'drv' | 'hw' | 'auto';

/** `XDP_FLAGS_*` of each mode; a link accepts one of them or none (dev_xdp_attach). */
export const XDP_MODE_FLAGS: Readonly<Record<XdpMode, number>> = { auto: 0, skb: 1 << 1, drv: 1 << 2, hw: 1 << 3 };

export interface AttachXdpOptions {
  readonly program: Program;
  /** The interface, by index... */
  readonly ifindex?: number;
  /** ...or by name, looked up in the namespace the attach happens in. */
  readonly ifname?: string;
  readonly mode: XdpMode;
  /**
   * A network namespace (an `ip netns` name or a path such as `/proc/<pid>/ns/net`) to attach
   * in; this thread's own by default. The link stays on the device after the thread returns.
   */
  readonly netns?: string;
  readonly sys?: Syscalls;
}

export interface XdpLinkUpdateOptions {
  /** Replace only if the link still runs this program (BPF_F_REPLACE); otherwise fail. */
  readonly expected?: Program;
}

const ATTACH_HINTS: Readonly<Record<string, string>> = {
  EBUSY: 'another XDP program is already attached to the interface in that mode (through a link or netlink)',
  EEXIST: 'another XDP program is already attached to the interface in that mode (through a link or netlink)',
  EOPNOTSUPP: 'the device\'s driver has no XDP support in that mode',
  ENODEV: 'the interface does not exist in this network namespace',
  EINVAL: 'the interface does not exist here, or the program is not an XDP program, or the mode is not valid for links',
  EPERM: 'attaching XDP needs CAP_NET_ADMIN and CAP_BPF (or root)',
};

/**
 * Attaches an XDP program to an interface through a bpf link (BPF_LINK_CREATE, 5.9+). The
 * link is the attachment: closing it detaches unless it is pinned, `update` swaps the program
 * atomically without a moment with nothing attached, and no other program can take the
 * interface from it (EBUSY) while it lives.
 */
export function attachXdp(options: AttachXdpOptions): XdpLink {
  const sys = options.sys ?? nativeSyscalls();
  const { program, mode } = options;
  const flags = XDP_MODE_FLAGS[mode];
  if (flags === undefined) throw new LinkError('LINK_ATTACH_FAILED', `'${String(mode)}' is not an XDP mode; use skb, drv, hw or auto.`);
  if (program.type !== ProgType.XDP) {
    throw new LinkError('LINK_INCOMPATIBLE', `${String(program)} has program type ${program.type}, so it cannot be attached as XDP.`);
  }
  if ((options.ifindex === undefined) === (options.ifname === undefined)) {
    throw new LinkError('LINK_ATTACH_FAILED', 'attachXdp needs exactly one of ifindex and ifname.');
  }
  const attach = (): XdpLink => {
    const ifindex = options.ifindex ?? interfaceIndex(options.ifname as string, { sys });
    const target = options.ifname === undefined ? `ifindex ${ifindex}` : `'${options.ifname}' (ifindex ${ifindex})`;
    let fd: Fd;
    try {
      fd = sys.linkCreate({ prog: program.fd, targetIfindex: ifindex, attachType: AttachType.XDP, flags });
    } catch (error) {
      if (!(error instanceof SyscallError)) throw error;
      const hint = ATTACH_HINTS[error.code] ?? error.message;
      throw new LinkError('LINK_ATTACH_FAILED', `cannot attach ${String(program)} to ${target} in ${mode} mode (${error.code}): ${hint}.`, {
        cause: error,
      });
    }
    return XdpLink.adopt(fd, sys, ifindex, program);
  };
  return options.netns === undefined ? attach() : inNetworkNamespace(options.netns, attach, { sys });
}

/**
 * A live XDP link: it owns the link's fd. Closing an unpinned link detaches the program;
 * closing a pinned one only drops this process's reference.
 */
export class XdpLink implements Link {
  readonly sys: Syscalls;
  /** The interface the link was created on (0 once known to be detached). */
  readonly ifindex: number;
  readonly #fd: Fd;
  #program: Program | undefined;
  #detached = false;

  private constructor(fd: Fd, sys: Syscalls, ifindex: number, program: Program | undefined) {
    this.#fd = fd;
    this.sys = sys;
    this.ifindex = ifindex;
    this.#program = program;
  }

  /** @internal Wraps a link fd just created or opened; not for general use. */
  static adopt(fd: Fd, sys: Syscalls, ifindex: number, program: Program | undefined): XdpLink {
    return new XdpLink(fd, sys, ifindex, program);
  }

  /** Takes ownership of a link fd (from a pin, say); closes it if it is not an XDP link. */
  static fromFd(fd: Fd, options: { sys?: Syscalls } = {}): XdpLink {
    const sys = options.sys ?? nativeSyscalls();
    let info: LinkInfo;
    try {
      if (sys.objectKind(fd) !== 'link') throw new LinkError('LINK_INCOMPATIBLE', `${String(fd)} is not a bpf link.`);
      info = getLinkInfo(sys, fd);
      if (info.type !== LinkType.XDP) throw new LinkError('LINK_INCOMPATIBLE', `${String(fd)} is a bpf link of type ${info.type}, not an XDP link.`);
    } catch (error) {
      fd.close();
      if (error instanceof LinkError) throw error;
      throw new LinkError('LINK_INCOMPATIBLE', `${String(fd)} is not a link the kernel can describe.`, { cause: error });
    }
    return new XdpLink(fd, sys, info.ifindex ?? 0, undefined);
  }

  /** Opens an XDP link pinned at `path`, as a `PinnedLink`. */
  static open(path: string, options: { sys?: Syscalls } = {}): PinnedLink<XdpLink> {
    return PinnedLink.open(path, (fd, opened) => XdpLink.fromFd(fd, opened), options);
  }

  /** The owned fd. */
  get fd(): Fd {
    if (this.#fd.closed) throw new LinkError('LINK_CLOSED', `${this.toString()} is closed.`);
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd.closed;
  }

  /** The program this object last attached, when it knows it (not after `fromFd`/`open`). */
  get program(): Program | undefined {
    return this.#program;
  }

  /** The kernel's view: link id, the attached program's id, and the interface (0 once detached). */
  info(): LinkInfo {
    return getLinkInfo(this.sys, this.fd);
  }

  /**
   * Replaces the program in place (BPF_LINK_UPDATE): packets see the old program or the new
   * one, never none. With `expected`, fails unless the link still runs that program.
   */
  update(program: Program, options: XdpLinkUpdateOptions = {}): void {
    if (program.type !== ProgType.XDP) {
      throw new LinkError('LINK_INCOMPATIBLE', `${String(program)} has program type ${program.type}, so it cannot replace an XDP program.`);
    }
    try {
      this.sys.linkUpdate(this.fd, program.fd, options.expected === undefined ? {} : { oldProg: options.expected.fd });
    } catch (error) {
      if (!(error instanceof SyscallError)) throw error;
      const reason =
        error.code === 'EPERM' && options.expected !== undefined
          ? `the link no longer runs the expected ${String(options.expected)}`
          : error.code === 'ENOLINK'
            ? 'the link is detached'
            : error.message;
      throw new LinkError('LINK_UPDATE_FAILED', `cannot update ${this.toString()} to ${String(program)}: ${reason}.`, { cause: error });
    }
    this.#program = program;
  }

  /**
   * Detaches the program now (BPF_LINK_DETACH), even when the link is pinned or other fds
   * hold it; the fd stays open, describing a defunct link. Detaching twice is harmless.
   */
  detach(): void {
    if (this.#detached) return;
    try {
      this.sys.linkDetach(this.fd);
    } catch (error) {
      // ENOLINK: the interface went away or someone else detached it; the outcome is the same.
      if (!(error instanceof SyscallError && error.code === 'ENOLINK')) {
        throw new LinkError('LINK_DETACH_FAILED', `cannot detach ${this.toString()}.`, { cause: error });
      }
    }
    this.#detached = true;
  }

  /** Pins the link at `path` in bpffs: it then stays attached after this process exits, until unpinned and closed. */
  pin(path: string): PinnedLink<XdpLink> {
    return PinnedLink.pin(this, path);
  }

  /** Closes the fd; an unpinned link detaches. Calling it again does nothing. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `XDP link on ifindex ${this.ifindex} (${String(this.#fd)})`;
  }
}
