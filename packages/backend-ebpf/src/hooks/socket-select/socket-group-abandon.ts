import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RestoreError, type AbandonRequest } from '@syrup/core';
import { isSyscallError } from '../../errors/syscall-error.js';
import type { Fd } from '../../fd.js';
import { SO_DETACH_REUSEPORT_BPF } from '../../links/reuseport-attachment.js';
import { ReuseportSockArray } from '../../maps/system/reuseport-sock-array.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import { ProcessSocketGroup } from './process-socket-group.js';
import { EXECUTORS_PIN } from './socket-group-pins.js';
import { SocketSelectError } from './socket-select-error.js';
import type { SocketProtocol } from './socket-table.js';

const SOL_SOCKET = 1;
const SO_COOKIE = 57;

/**
 * Undoes what a socket-select deploy, replace or undeploy left when its daemon died (see
 * `Backend.abandon`). The socket array is pinned before it is filled and before the program
 * is attached (`SocketGroupAttachment.open`), so:
 * - no `sockarray` pin: nothing was filled or attached; there is nothing to undo;
 * - an empty array: nothing was attached either;
 * - sockets in it: the program was attached to their group, or was about to be. The group
 *   the target names is found again, and when its sockets are the ones in the array (by
 *   cookie: nobody else's array can hold them) its program is detached; then the array is
 *   emptied, so those sockets may join the next deployment's array at once (the kernel frees
 *   an unused array, and lets go of its sockets, only later).
 * Pins are left to the runtime, which removes the whole pin directory.
 */
export function abandonSocketGroup(request: AbandonRequest, sys: Syscalls): void {
  const dir = request.location.pinDir;
  if (dir === undefined) return;
  const path = join(dir, EXECUTORS_PIN);
  if (!existsSync(path)) return;
  let executors: ReuseportSockArray;
  try {
    executors = ReuseportSockArray.open(path, { sys });
  } catch (error) {
    throw new RestoreError('RESTORE_UNTRUSTED', `the pin ${path} is not a reuseport socket array, so it is not this deployment's.`, { cause: error });
  }
  try {
    const cookies = new Set<bigint>();
    for (let k = 0; k < executors.maxEntries; k++) {
      const cookie = executors.get(k);
      if (cookie !== undefined) cookies.add(cookie);
    }
    if (cookies.size > 0) detachGroupOf(request, cookies, sys);
    for (let k = 0; k < executors.maxEntries; k++) executors.delete(k);
  } finally {
    executors.close();
  }
}

/** Detaches the program of the target's group when that group's sockets are the array's; a group that is gone (its process exited) took its program with it. */
function detachGroupOf(request: AbandonRequest, cookies: ReadonlySet<bigint>, sys: Syscalls): void {
  const { target } = request;
  if (target.port === undefined) return;
  const recorded = request.record?.data['protocol'];
  const protocols: readonly SocketProtocol[] =
    target.protocol !== undefined ? [target.protocol] : recorded === 'udp' || recorded === 'tcp' ? [recorded] : ['udp', 'tcp'];
  const address = target.extra?.['address'];
  for (const protocol of protocols) {
    let group: ProcessSocketGroup;
    try {
      group = ProcessSocketGroup.resolve(
        { protocol, port: target.port, ...(target.pid === undefined ? {} : { pid: target.pid }), ...(typeof address === 'string' ? { address } : {}) },
        sys,
      );
    } catch (error) {
      // No such group (any more): nothing of it to detach.
      if (error instanceof SocketSelectError) continue;
      throw error;
    }
    try {
      group.withMember((member) => {
        if (cookies.has(socketCookie(member, sys))) detach(member, sys);
      });
    } finally {
      group.close();
    }
  }
}

function socketCookie(socket: Fd, sys: Syscalls): bigint {
  const value = new Uint8Array(8);
  sys.getsockopt(socket, SOL_SOCKET, SO_COOKIE, value);
  return new DataView(value.buffer).getBigUint64(0, true);
}

function detach(socket: Fd, sys: Syscalls): void {
  try {
    sys.setsockopt(socket, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, new Uint8Array(4));
  } catch (error) {
    // ENOENT: the crash came between the fill and the attach, so the group runs no program.
    if (!isSyscallError(error, 'ENOENT')) throw error;
  }
}
