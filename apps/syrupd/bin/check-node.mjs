// The first thing a bin does, before it loads anything else: refuse, in one sentence and with
// exit status 2, a Node.js older than the package's `engines.node` (a `>=X.Y.Z` range). The
// built code targets that Node (tsup's target) and would otherwise fail with a syntax error or
// a missing API, far from the cause. Written for any Node that runs ES modules: no newer syntax.
import { readFileSync } from 'node:fs';

/** Exits 2 when this Node is older than the `>=X.Y.Z` of `packageJson`'s `engines.node`. */
export function checkNode(command, packageJson) {
  const manifest = JSON.parse(readFileSync(packageJson, 'utf8'));
  const range = manifest.engines && typeof manifest.engines.node === 'string' ? manifest.engines.node : '';
  const match = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(range.trim());
  // Invariant held by tools/repo-checks (package-manifests.test.ts): every package with a bin declares `>=X.Y.Z`.
  if (match === null) return;
  const need = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (!olderThan(process.versions.node, need)) return;
  process.stderr.write(
    `${command}: needs Node.js ${need.join('.')} or newer, but was started by Node.js ${process.versions.node} (${process.execPath}); run it with a newer node, e.g. the one \`npm install\` brings (node_modules/.bin/node).\n`,
  );
  process.exit(2);
}

/** Whether `version` (e.g. "20.20.2") is older than `need` ([major, minor, patch]). */
export function olderThan(version, need) {
  const have = version.split('.').map((part) => Number.parseInt(part, 10));
  for (let i = 0; i < 3; i += 1) {
    const h = have[i] || 0;
    if (h !== need[i]) return h < need[i];
  }
  return false;
}
