import { readdirSync, readlinkSync } from 'node:fs';
import { isSyscallError } from '../../errors/syscall-error.js';
import type { Fd } from '../../fd.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import { XdpHookError } from './xdp-hook-error.js';

const SOL_SOCKET = 1;
const SO_DOMAIN = 39;
const AF_XDP = 44;

/**
 * The AF_XDP sockets of process `pid`, taken with pidfd_getfd in ascending order of its fd
 * numbers (executor k is the k-th), as socket-select takes a process's sockets: the daemon
 * never opens executors for a tenant, it borrows the tenant's own. The caller owns the
 * returned fds and the process's pidfd (opened before its fds were read, so it names the
 * process they came from); an XSK map entry holds its socket on its own, so the socket fds
 * may be closed once set.
 *
 * The kernel reports no AF_XDP binding here (this kernel has no XDP socket diag), so a socket
 * bound to another interface or queue is not refused: the kernel drops what is redirected to
 * it, which only the tenant's own port on its own queue can reach.
 */
export function takeProcessXskSockets(pid: number, where: string, sys: Syscalls, procRoot = '/proc'): { sockets: Fd[]; pidfd: Fd } {
  let names: number[];
  try {
    names = readdirSync(`${procRoot}/${pid}/fd`)
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    throw new XdpHookError('XDP_TARGET_INVALID', `process ${pid} (extra.xskPid) does not exist, so it has no AF_XDP sockets for ${where}.`);
  }
  const sockets = names.filter((fd) => {
    try {
      return readlinkSync(`${procRoot}/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // Closed between readdir and readlink.
    }
  });
  let pidfd: Fd;
  try {
    pidfd = sys.pidfdOpen(pid);
  } catch (error) {
    throw new XdpHookError('XDP_TARGET_INVALID', `process ${pid} (extra.xskPid) exited before its AF_XDP sockets could be taken.`, { cause: error });
  }
  const taken: Fd[] = [];
  try {
    for (const fd of sockets) {
      let dup: Fd;
      try {
        dup = sys.pidfdGetfd(pidfd, fd);
      } catch (error) {
        // EBADF: closed meanwhile; ESRCH: the process exited (found below: nothing taken).
        if (isSyscallError(error, 'EBADF') || isSyscallError(error, 'ESRCH')) continue;
        throw new XdpHookError(
          'XDP_TARGET_INVALID',
          `fd ${fd} of process ${pid} cannot be taken with pidfd_getfd (${isSyscallError(error) ? error.code : String(error)}); taking another process's AF_XDP sockets needs ptrace rights over it.`,
          { cause: error },
        );
      }
      if (domainOf(dup, sys) === AF_XDP) taken.push(dup);
      else dup.close();
    }
    if (taken.length === 0) throw new XdpHookError('XDP_TARGET_INVALID', `process ${pid} (extra.xskPid) holds no AF_XDP socket, so it has no executors for ${where}.`);
    return { sockets: taken, pidfd };
  } catch (error) {
    for (const fd of taken) fd.close();
    pidfd.close();
    throw error;
  }
}

function domainOf(socket: Fd, sys: Syscalls): number {
  const value = new Uint8Array(4);
  sys.getsockopt(socket, SOL_SOCKET, SO_DOMAIN, value);
  return new DataView(value.buffer).getInt32(0, true);
}
