import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * How other uids reach the repository: `direct` when every directory from `/` to it is
 * searchable by others (o+x) and the repository itself readable (o+r), as /work/main is;
 * `bind-mount` otherwise (a checkout under /root, which is 0700): the repository is mounted at
 * a fresh path under the temp directory, so the closed parents are no longer on the way.
 * The files inside must still be world-readable, as a git checkout with umask 022 leaves them.
 */
export type RepoAccessPlan = { readonly kind: 'direct' } | { readonly kind: 'bind-mount'; readonly blockedAt: string };

export function repoAccessPlan(repoRoot: string, modeOf: (path: string) => number = (path) => statSync(path).mode): RepoAccessPlan {
  const root = resolve(repoRoot);
  if ((modeOf(root) & 0o005) !== 0o005) return { kind: 'bind-mount', blockedAt: root };
  for (let dir = dirname(root); ; dir = dirname(dir)) {
    if ((modeOf(dir) & 0o001) === 0) return { kind: 'bind-mount', blockedAt: dir };
    if (dir === dirname(dir)) return { kind: 'direct' };
  }
}

/** The repository at a path other uids can read, and how to give it back. */
export interface RepoAccess {
  readonly root: string;
  readonly plan: RepoAccessPlan;
  /** Unmounts and removes the mount point (bind-mount), or nothing (direct); harmless twice. */
  release(): void;
}

export function provideRepoAccess(repoRoot: string): RepoAccess {
  const plan = repoAccessPlan(repoRoot);
  if (plan.kind === 'direct') return { root: resolve(repoRoot), plan, release: () => undefined };
  const mountPoint = mkdtempSync(join(tmpdir(), 'syrup-repo-'));
  chmodSync(mountPoint, 0o755);
  execFileSync('mount', ['--bind', resolve(repoRoot), mountPoint], { stdio: ['ignore', 'pipe', 'pipe'] });
  let released = false;
  return {
    root: mountPoint,
    plan,
    release: () => {
      if (released) return;
      released = true;
      try {
        execFileSync('umount', [mountPoint], { stdio: ['ignore', 'pipe', 'pipe'] });
      } finally {
        rmdirSync(mountPoint);
      }
    },
  };
}
