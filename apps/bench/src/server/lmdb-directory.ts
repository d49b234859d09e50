import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { LMDB_FILE, lmdbOptions } from './lmdb-options.js';
import { fillKeyValue } from './request-store.js';

const PREFIX = 'syrup-kv-';
/** syrup-kv-<pid>-<random>: the pid of the server that made it. */
const NAME = /^syrup-kv-(\d+)-[A-Za-z0-9]+$/;

/**
 * The server's LMDB data: a temporary directory holding one environment preloaded with keys
 * 0 to `keys - 1`, each with its initial value (see fillKeyValue). `close()` removes the
 * directory. A server killed with SIGKILL cannot, so the directory's name carries its pid and
 * the next `create` removes the directories of servers that no longer run (see
 * removeAbandoned).
 */
export class LmdbDirectory implements Disposable {
  readonly directory: string;
  /** The environment's path, for the workers to open. */
  readonly path: string;
  #removed = false;

  private constructor(directory: string) {
    this.directory = directory;
    this.path = join(directory, LMDB_FILE);
  }

  static create(keys: number, valueSize: number, parent = tmpdir()): LmdbDirectory {
    removeAbandoned(parent);
    const data = new LmdbDirectory(mkdtempSync(join(parent, `${PREFIX}${process.pid}-`)));
    try {
      const db = open(lmdbOptions(data.path));
      try {
        const key = Buffer.alloc(8);
        const value = Buffer.alloc(valueSize);
        // One transaction, appending in key order: the fastest way LMDB builds a B-tree.
        db.transactionSync(() => {
          for (let k = 0; k < keys; k++) {
            key.writeBigUInt64BE(BigInt(k));
            fillKeyValue(key, value, 0, valueSize);
            db.putSync(key, value, { append: true });
          }
        });
      } finally {
        db.close();
      }
      return data;
    } catch (error) {
      data.close();
      throw error;
    }
  }

  close(): void {
    if (this.#removed) return;
    this.#removed = true;
    rmSync(this.directory, { recursive: true, force: true });
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Removes the data directories in `parent` left by servers that were killed: named for a pid
 * that no longer runs, and owned by this user (another user's are not ours to judge). A pid
 * that was reused by another process keeps its directory until that process is gone too,
 * which errs on the side of keeping data. Answers the directories removed.
 */
export function removeAbandoned(parent: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = NAME.exec(name)?.[1];
    if (pid === undefined || processRuns(Number(pid))) continue;
    const path = join(parent, name);
    try {
      const stat = lstatSync(path);
      if (!stat.isDirectory() || stat.uid !== process.getuid?.()) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // Gone already, or not ours to remove: either way nothing to do.
    }
  }
  return removed;
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
