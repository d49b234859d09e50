import type { Socket } from 'node:net';
import { Fd, nativeSyscalls, type NativeSyscalls } from '@syrup/backend-ebpf/syscalls';
import type { PeerCredentials, PeerIdentity } from '@syrup/runtime';

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
/** struct ucred: pid_t pid, uid_t uid, gid_t gid. */
const UCRED_SIZE = 12;

/**
 * The caller's identity from the kernel (SO_PEERCRED: the credentials the peer had when it
 * connected), through backend-ebpf's syscall layer. Node has no public fd accessor for a
 * `net.Socket`; an accepted Unix connection keeps it on its libuv Pipe handle
 * (`socket._handle.fd`). The number is duplicated into an owned `Fd` for the call, so that
 * nothing here can close the connection's own descriptor.
 */
export class SoPeerCredCredentials implements PeerCredentials {
  constructor(private readonly sys: NativeSyscalls = nativeSyscalls()) {}

  of(socket: Socket): PeerIdentity {
    const raw = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
    if (typeof raw !== 'number' || raw < 0) throw new Error('the connection has no file descriptor to ask SO_PEERCRED about');
    using fd = Fd.adopt(this.sys.dupFd(raw, 1), this.sys);
    const ucred = new Uint8Array(UCRED_SIZE);
    const length = this.sys.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ucred);
    if (length < UCRED_SIZE) throw new Error(`SO_PEERCRED returned ${length} bytes instead of ${UCRED_SIZE}`);
    const view = new DataView(ucred.buffer);
    return { pid: view.getInt32(0, true), uid: view.getUint32(4, true), gid: view.getUint32(8, true) };
  }
}
