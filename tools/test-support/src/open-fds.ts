// This process's open file descriptors, read from /proc/self/fd: the one place tests count them.
import { readdirSync, readlinkSync } from 'node:fs';

/** One open fd and what it refers to (`anon_inode:bpf-map`, `socket:[123]`, a path...). */
export interface OpenFd {
  readonly fd: number;
  readonly target: string;
}

/** How many fds this process has open (the directory listing's own fd included, as every count is). */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Every fd open now, with its target; fds closed while listing (the listing's own) are left out. */
export function openFds(): OpenFd[] {
  const fds: OpenFd[] = [];
  for (const entry of readdirSync('/proc/self/fd')) {
    try {
      fds.push({ fd: Number(entry), target: readlinkSync(`/proc/self/fd/${entry}`) });
    } catch {
      // Closed since the listing: the listing's own fd, or one another thread just closed.
    }
  }
  return fds;
}

/** The fd of this process whose target is `target` (say `socket:[123]`), if one is open. */
export function fdWithTarget(target: string): number | undefined {
  return openFds().find((fd) => fd.target === target)?.fd;
}

/**
 * Kernel objects a test owns and must close: bpf maps, programs, links, BTF and perf events.
 * Node, libuv and vitest never open these, so a new one at the end of a test file is the
 * file's own leak, whatever else the runtime opened lazily meanwhile (epoll, eventfd, pipes,
 * sockets of its IPC channel).
 */
export function isKernelObject(target: string): boolean {
  return /^anon_inode:(bpf[-_]|btf$|\[perf_event\]$)/.test(target);
}
