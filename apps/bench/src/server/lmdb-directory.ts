import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { LMDB_FILE, lmdbOptions } from './lmdb-options.js';
import { fillKeyValue } from './request-store.js';

/**
 * The server's LMDB data: a temporary directory holding one environment preloaded with keys
 * 0 to `keys - 1`, each with its initial value (see fillKeyValue). `close()` removes the
 * directory; a server killed with SIGKILL leaves it behind in the system's temp directory
 * (named syrup-kv-*).
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

  static create(keys: number, valueSize: number): LmdbDirectory {
    const data = new LmdbDirectory(mkdtempSync(join(tmpdir(), 'syrup-kv-')));
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
