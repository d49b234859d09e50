import { isAbsolute } from 'node:path';
import type { Fd } from '../fd.js';
import { nativeSyscalls } from '../syscalls/native-syscalls.js';
import type { Syscalls } from '../syscalls/syscalls.js';
import { LinkError } from './link-error.js';

/** `CLONE_NEWNET`, the nstype of setns(2) for a network namespace. */
const CLONE_NEWNET = 0x4000_0000;
const O_RDONLY = 0;
/** Where `ip netns add` bind-mounts named namespaces. */
export const NETNS_RUN_DIR = '/run/netns';

export interface NetworkNamespaceOptions {
  readonly sys?: Syscalls;
}

/** The namespace file of a name `ip netns` knows, or an absolute path as is (e.g. `/proc/<pid>/ns/net`). */
export function networkNamespacePath(namespace: string): string {
  if (isAbsolute(namespace)) return namespace;
  if (namespace === '' || namespace.includes('/') || namespace === '.' || namespace === '..') {
    throw new LinkError('NETNS_FAILED', `'${namespace}' is not a network namespace name or an absolute path.`);
  }
  return `${NETNS_RUN_DIR}/${namespace}`;
}

/**
 * Runs `action` with the calling thread in another network namespace, then moves it back.
 * Everything that resolves an interface or creates a socket looks at the caller's namespace
 * (if_nametoindex, BPF_LINK_CREATE's target_ifindex, socket(2)), and the objects made keep
 * theirs after the switch back: an XDP link stays on the device, a socket in its namespace.
 *
 * Only this thread moves (setns(2) is per thread), so libuv's pool and worker threads are
 * unaffected, and `action` must be synchronous: no other JavaScript runs before the switch
 * back. A promise returned by `action` is refused.
 */
export function inNetworkNamespace<T>(namespace: string, action: () => T, options: NetworkNamespaceOptions = {}): T {
  const sys = options.sys ?? nativeSyscalls();
  const path = networkNamespacePath(namespace);
  let target: Fd;
  let home: Fd;
  try {
    target = sys.openFile(path, O_RDONLY);
  } catch (error) {
    throw new LinkError('NETNS_FAILED', `cannot open network namespace '${namespace}' at ${path}.`, { cause: error });
  }
  try {
    home = sys.openFile('/proc/thread-self/ns/net', O_RDONLY);
  } catch (error) {
    target.close();
    throw new LinkError('NETNS_FAILED', 'cannot open this thread\'s own network namespace to return to it.', { cause: error });
  }
  try {
    try {
      sys.setns(target, CLONE_NEWNET);
    } catch (error) {
      throw new LinkError('NETNS_FAILED', `cannot enter network namespace '${namespace}' (setns needs CAP_SYS_ADMIN).`, { cause: error });
    }
    let result: T;
    try {
      result = action();
    } finally {
      // Staying in the wrong namespace would silently misdirect every later socket and attach.
      sys.setns(home, CLONE_NEWNET);
    }
    if (typeof (result as { then?: unknown } | undefined)?.then === 'function') {
      throw new LinkError('NETNS_FAILED', 'the action run in a network namespace returned a promise, but only its synchronous part ran there.');
    }
    return result;
  } finally {
    target.close();
    home.close();
  }
}
