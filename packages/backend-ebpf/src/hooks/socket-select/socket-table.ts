import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';

export type SocketProtocol = 'udp' | 'tcp';

/** One row of /proc/net/{udp,udp6,tcp,tcp6}: a socket of one network namespace. */
export interface SocketTableEntry {
  readonly inode: number;
  readonly protocol: SocketProtocol;
  readonly family: 4 | 6;
  /** Local address in canonical text (`127.0.0.1`, `::1`, `0.0.0.0`, `::`). */
  readonly address: string;
  readonly port: number;
  /** The kernel's TCP state number (UDP reuses them: 7 unconnected, 1 connected). */
  readonly state: number;
  /** Datagrams dropped on this socket (UDP tables only). */
  readonly drops: number | undefined;
  /** The uid that created the socket (the table's uid column). */
  readonly uid: number;
}

/** TCP_CLOSE: what /proc/net/udp shows for a bound, unconnected UDP socket. */
const UDP_UNCONNECTED = 7;
/** TCP_LISTEN. */
const TCP_LISTENING = 10;

/**
 * Which namespace's tables to read: `/proc/<pid>/net` shows the network namespace of that
 * process, so a target in another namespace (a container) is found in its own tables.
 */
export type NetSource = number | 'self';

/**
 * Every socket of `protocol` (IPv4 and IPv6) in the network namespace of `source`; `procRoot`
 * is procfs's mount point (a fixture tree in unit tests).
 */
export function readSocketTable(protocol: SocketProtocol, source: NetSource = 'self', procRoot = '/proc'): SocketTableEntry[] {
  const entries: SocketTableEntry[] = [];
  for (const family of [4, 6] as const) {
    let text: string;
    try {
      text = readFileSync(`${procRoot}/${source}/net/${protocol}${family === 6 ? '6' : ''}`, 'utf8');
    } catch {
      // No IPv6 in this kernel, or the process exited meanwhile: nothing to list.
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      const state = fields[3];
      const inode = fields[9];
      const uid = fields[7];
      if (local === undefined || state === undefined || inode === undefined || uid === undefined) continue;
      const [addressHex, portHex] = local.split(':');
      if (addressHex === undefined || portHex === undefined) continue;
      const drops = protocol === 'udp' && fields[12] !== undefined ? Number.parseInt(fields[12], 10) : undefined;
      entries.push({
        inode: Number.parseInt(inode, 10),
        protocol,
        family,
        address: formatProcAddress(addressHex),
        port: Number.parseInt(portHex, 16),
        state: Number.parseInt(state, 16),
        drops,
        uid: Number.parseInt(uid, 10),
      });
    }
  }
  return entries;
}

/** True for a socket that can be in a reuseport group's selection: a bound UDP socket or a TCP listener. */
export function isSelectable(entry: SocketTableEntry): boolean {
  return entry.protocol === 'udp' ? entry.state === UDP_UNCONNECTED && entry.port !== 0 : entry.state === TCP_LISTENING;
}

/** Socket fds of a process by inode, ascending fd order (the target's numbers, not ours). */
export interface ProcessSocketFd {
  readonly fd: number;
  readonly inode: number;
}

/**
 * The sockets in the fd table of `pid` (`'self'` for this process), by ascending fd number.
 * Undefined when the process is gone or its table cannot be read.
 */
export function socketFdsOf(pid: number | 'self'): ProcessSocketFd[] | undefined {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  const sockets: ProcessSocketFd[] = [];
  for (const name of names) {
    const inode = socketInodeAt(`/proc/${pid}/fd/${name}`);
    if (inode !== undefined) sockets.push({ fd: Number.parseInt(name, 10), inode });
  }
  return sockets.sort((a, b) => a.fd - b.fd);
}

/** The socket inode an fd link (`/proc/<pid>/fd/<n>`) points at, or undefined for anything else. */
export function socketInodeAt(path: string): number | undefined {
  let target: string;
  try {
    target = readlinkSync(path);
  } catch {
    // Closed between readdir and readlink.
    return undefined;
  }
  const match = /^socket:\[(\d+)\]$/.exec(target);
  return match?.[1] === undefined ? undefined : Number.parseInt(match[1], 10);
}

/** Numeric entries of /proc: every process this one can see. */
export function processIds(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => Number.parseInt(name, 10));
}

/** `address` in the form /proc tables print (and `formatProcAddress` returns): what a caller's text is compared as. */
export function canonicalAddress(address: string): string | undefined {
  try {
    const host = new URL(`http://${address.includes(':') ? `[${address}]` : address}/`).hostname;
    return host.startsWith('[') ? host.slice(1, -1) : host;
  } catch {
    return undefined;
  }
}

/**
 * The kernel prints addresses as 32-bit words in host byte order (`%08X` of each `__be32`),
 * so the bytes come back by writing each word in this machine's order.
 */
function formatProcAddress(hex: string): string {
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
  return canonicalAddress(groups.join(':')) ?? groups.join(':');
}
