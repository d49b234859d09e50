import { statSync } from 'node:fs';
import { LinkError } from './link-error.js';
import { networkNamespacePath } from './network-namespace.js';

/**
 * A stable identity of a network namespace: the device and inode of its nsfs file, the same
 * whichever name or path reaches it (`ip netns` name, `/proc/<pid>/ns/net`), or this thread's
 * own when `namespace` is undefined. Interface indexes are only unique within a namespace, so
 * anything keyed by an interface (a dispatcher, an AF_XDP queue) is keyed by this too.
 */
export function networkNamespaceIdentity(namespace?: string): string {
  const path = namespace === undefined ? '/proc/thread-self/ns/net' : networkNamespacePath(namespace);
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}`;
  } catch (error) {
    throw new LinkError('NETNS_FAILED', `cannot identify network namespace '${namespace ?? 'of this thread'}' at ${path}.`, { cause: error });
  }
}
