import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';

/** The fields of a package.json that say where its main module is. */
export interface PackageManifest {
  readonly name?: unknown;
  readonly exports?: unknown;
  readonly main?: unknown;
}

/**
 * The file a bare `import '<package>'` loads, the way Node's ESM resolver picks it: the `.`
 * entry of `exports` under the first matching condition (`conditions` plus `default`), else
 * the first existing of `main` (also with `.js` or `/index.js`) and `index.js`. Undefined when
 * the package declares no entry; an `exports` entry is returned even when its file is missing
 * (an unbuilt `dist/`), so the caller can say so. syrupd needs this
 * because it resolves packages from the daemon's working directory, and Node offers no
 * `import.meta.resolve` from another directory; a module loaded by its path then resolves its
 * own imports as usual.
 */
export function packageEntry(dir: string, manifest: PackageManifest, conditions: ReadonlySet<string>): string | undefined {
  if (manifest.exports !== undefined && manifest.exports !== null) {
    const target = exportTarget(rootExport(manifest.exports), conditions);
    return target === undefined ? undefined : inside(dir, target);
  }
  const main = typeof manifest.main === 'string' ? manifest.main : undefined;
  const candidates = main === undefined ? ['index.js'] : [main, `${main}.js`, join(main, 'index.js'), 'index.js'];
  return candidates.map((c) => inside(dir, c)).find((file) => file !== undefined && existsSync(file) && statSync(file).isFile());
}

/** The conditions this process resolves with: Node's own (`node`, `import`) plus `--conditions`/`-C` from its flags and NODE_OPTIONS. */
export function activeConditions(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env['NODE_OPTIONS'] ?? ''): ReadonlySet<string> {
  const conditions = new Set(['node', 'import']);
  const args = [...execArgv, ...nodeOptions.split(/\s+/).filter((a) => a !== '')];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const inline = /^(?:--conditions|-C)=(.+)$/.exec(arg);
    if (inline !== null) conditions.add(inline[1] as string);
    else if ((arg === '--conditions' || arg === '-C') && i + 1 < args.length) conditions.add(args[++i] as string);
  }
  return conditions;
}

/** `exports` as a string, an array, a map of subpaths (`.` is the root) or the root's conditions. */
function rootExport(exports: unknown): unknown {
  if (typeof exports !== 'object' || exports === null || Array.isArray(exports)) return exports;
  const keys = Object.keys(exports);
  return keys.some((k) => k.startsWith('.')) ? (exports as Record<string, unknown>)['.'] : exports;
}

function exportTarget(value: unknown, conditions: ReadonlySet<string>): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const item of value) {
      const target = exportTarget(item, conditions);
      if (target !== undefined) return target;
    }
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  // Object order decides, as in Node: the first key that is `default` or an active condition.
  for (const [key, nested] of Object.entries(value)) {
    if (key !== 'default' && !conditions.has(key)) continue;
    const target = exportTarget(nested, conditions);
    if (target !== undefined) return target;
  }
  return undefined;
}

/** `path` joined to `dir` when it stays inside it (an entry never escapes its package). */
function inside(dir: string, path: string): string | undefined {
  const file = join(dir, path);
  const rel = relative(dir, file);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? undefined : file;
}
