import type { RootDatabaseOptionsWithPath } from 'lmdb';

/**
 * How the server opens its LMDB environment, the same in the main thread (preload) and in
 * each worker (lmdb-js shares one environment per path within a process). Keys are the
 * 8 big-endian key bytes of the wire format, so LMDB's byte order is numeric order and a
 * SCAN is a plain cursor walk. The data is thrown away at exit, so commits skip fsync: a
 * PUT costs CPU and the write lock, not the disk.
 */
export function lmdbOptions(path: string): RootDatabaseOptionsWithPath {
  return { path, keyEncoding: 'binary', encoding: 'binary', noSync: true, noMemInit: true, cache: false };
}

/** The database file inside the server's temporary directory. */
export const LMDB_FILE = 'kv.mdb';
