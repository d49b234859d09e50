import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** An unprivileged system user made for one test run (no home directory), removed by `remove()`. */
export interface TenantUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** Deletes the user and its group; harmless twice. Kill its processes first. */
  remove(): void;
}

/** `useradd -M -r` with a unique name (`<prefix>-<hex>`, well under the 32-character limit). */
export function createTenantUser(prefix: string): TenantUser {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  execFileSync('useradd', ['-M', '-r', '-U', '-s', '/usr/sbin/nologin', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    try {
      execFileSync('userdel', [name], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      // A process of the user outlived the test: remove the account anyway.
      execFileSync('userdel', ['-f', name], { stdio: ['ignore', 'pipe', 'pipe'] });
    }
  };
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { name, uid, gid, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
