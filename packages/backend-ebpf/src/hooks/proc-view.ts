import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { processRealUid } from '@syrup/core';
import { canonicalAddress as canonicalProcAddress, isSelectable, readSocketTable, type SocketProtocol } from './socket-select/socket-table.js';

export type { SocketProtocol };

/** One row of /proc/<pid>/net/{udp,udp6,tcp,tcp6}, with the uid that created the socket. */
export interface ProcSocket {
  readonly inode: number;
  readonly protocol: SocketProtocol;
  readonly family: 4 | 6;
  /** Local address as the kernel prints it, decoded (`127.0.0.1`, `::`). */
  readonly address: string;
  readonly port: number;
  readonly uid: number;
  /** True for a bound, unconnected UDP socket or a listening TCP socket: a member of a group that can take inputs. */
  readonly bound: boolean;
}

/**
 * What the eBPF hooks' ownership proofs (`authorize`) read from procfs: socket tables with
 * their uid column, processes' real uids, their socket fds and their network namespaces.
 * `root` is configurable so that unit tests can hand it a fixture tree.
 */
export class ProcView {
  constructor(readonly root = '/proc') {}

  /** Sockets of `protocol` (IPv4 and IPv6) in the network namespace of `pid` ('self': this process's). */
  sockets(protocol: SocketProtocol, pid: number | 'self' = 'self'): ProcSocket[] {
    return readSocketTable(protocol, pid, this.root).map((entry) => ({
      inode: entry.inode,
      protocol,
      family: entry.family,
      address: entry.address,
      port: entry.port,
      uid: entry.uid,
      bound: entry.port !== 0 && isSelectable(entry),
    }));
  }

  /** Every process id visible here. */
  pids(): number[] {
    try {
      return readdirSync(this.root)
        .filter((name) => /^\d+$/.test(name))
        .map(Number);
    } catch {
      return [];
    }
  }

  /** The real uid of `pid` (the first Uid field), or undefined when there is no such process. */
  realUid(pid: number): number | undefined {
    return processRealUid(pid, this.root);
  }

  /** Inodes of the sockets in the fd table of `pid`; undefined when it is gone or unreadable. */
  socketInodes(pid: number): Set<number> | undefined {
    let names: string[];
    try {
      names = readdirSync(`${this.root}/${pid}/fd`);
    } catch {
      return undefined;
    }
    const inodes = new Set<number>();
    for (const name of names) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${this.root}/${pid}/fd/${name}`));
        if (match?.[1] !== undefined) inodes.add(Number(match[1]));
      } catch {
        // Closed between readdir and readlink.
      }
    }
    return inodes;
  }

  /** The identity (device:inode of its nsfs file) of the network namespace of `pid`, or undefined when it is gone. */
  netnsOf(pid: number | 'self'): string | undefined {
    return fileIdentity(`${this.root}/${pid}/ns/net`);
  }
}

/** device:inode of a file, the identity of a namespace whichever path reaches it; undefined when absent. */
export function fileIdentity(path: string): string | undefined {
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
}

/** An address in the form `sockets()` prints, so a caller's text compares equal to the kernel's (as given when it is no address). */
export function canonicalAddress(address: string): string {
  return canonicalProcAddress(address) ?? address;
}
