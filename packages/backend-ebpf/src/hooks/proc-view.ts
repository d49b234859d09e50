import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { processRealUid } from '@syrup/core';

export type SocketProtocol = 'udp' | 'tcp';

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

/** TCP_CLOSE, as /proc/net/udp shows a bound, unconnected UDP socket. */
const UDP_UNCONNECTED = 7;
const TCP_LISTEN = 10;

/**
 * What the eBPF hooks' ownership proofs (`authorize`) read from procfs: socket tables with
 * their uid column, processes' real uids, their socket fds and their network namespaces.
 * `root` is configurable so that unit tests can hand it a fixture tree.
 */
export class ProcView {
  constructor(readonly root = '/proc') {}

  /** Sockets of `protocol` (IPv4 and IPv6) in the network namespace of `pid` ('self': this process's). */
  sockets(protocol: SocketProtocol, pid: number | 'self' = 'self'): ProcSocket[] {
    const out: ProcSocket[] = [];
    for (const family of [4, 6] as const) {
      let text: string;
      try {
        text = readFileSync(`${this.root}/${pid}/net/${protocol}${family === 6 ? '6' : ''}`, 'utf8');
      } catch {
        // No IPv6 here, or the process exited meanwhile: nothing to list.
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        const [addressHex, portHex] = (fields[1] ?? '').split(':');
        if (addressHex === undefined || portHex === undefined || fields[9] === undefined || fields[7] === undefined || fields[3] === undefined) continue;
        const port = Number.parseInt(portHex, 16);
        const state = Number.parseInt(fields[3], 16);
        out.push({
          inode: Number.parseInt(fields[9], 10),
          protocol,
          family,
          address: decodeAddress(addressHex),
          port,
          uid: Number.parseInt(fields[7], 10),
          bound: port !== 0 && (protocol === 'udp' ? state === UDP_UNCONNECTED : state === TCP_LISTEN),
        });
      }
    }
    return out;
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

/** The kernel prints addresses as 32-bit words in host byte order; IPv6 comes back in full groups, zeros compressed. */
function decodeAddress(hex: string): string {
  const words = hex.length / 8;
  const bytes = Buffer.alloc(words * 4);
  for (let i = 0; i < words; i++) {
    const word = Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16);
    if (endianness() === 'LE') bytes.writeUInt32LE(word, i * 4);
    else bytes.writeUInt32BE(word, i * 4);
  }
  if (words === 1) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return canonicalAddress(groups.join(':'));
}

/** An address in the form `sockets()` prints, so a caller's text compares equal to the kernel's. */
export function canonicalAddress(address: string): string {
  try {
    const host = new URL(`http://${address.includes(':') ? `[${address}]` : address}/`).hostname;
    return host.startsWith('[') ? host.slice(1, -1) : host;
  } catch {
    return address;
  }
}
