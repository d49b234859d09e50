import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { BackendLoadError } from './backend-load-error.js';
import type { PackageManifest } from './package-entry.js';

/** A package found on disk: its real directory and its package.json. */
export interface FoundPackage {
  readonly dir: string;
  readonly manifest: PackageManifest;
}

export interface FindOptions {
  /** The daemon's working directory: names resolve from here first, and relative paths against it. */
  readonly cwd: string;
  /** The loading program's own package directory (syrupd's, the CLI's): names resolve from here when the working directory has none. */
  readonly installDir: string;
  /** The loading program, for messages (`syrupd's installation`); default `syrupd`. */
  readonly installName?: string;
}

/** npm's package names: an optional `@scope/` and a name without slashes. */
const PACKAGE_NAME = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/i;

/** A path rather than a name: absolute, or starting with `./` or `../` (or `.`/`..` alone). */
export function isPathSpec(spec: string): boolean {
  return isAbsolute(spec) || spec === '.' || spec === '..' || spec.startsWith('./') || spec.startsWith('../');
}

/**
 * Finds a backend package: a directory path (absolute, or relative to the working directory)
 * holding a package.json, or a package name looked up as Node does, in `node_modules` of the
 * working directory and each parent, then of the loading program's installation and each parent. Throws
 * `BACKEND_NOT_FOUND` naming the places looked.
 */
export function findBackendPackage(spec: string, options: FindOptions): FoundPackage {
  if (isPathSpec(spec)) {
    const dir = resolve(options.cwd, spec);
    const found = packageAt(dir);
    if (found === undefined) throw new BackendLoadError('BACKEND_NOT_FOUND', `backend package directory '${dir}' does not exist or holds no package.json.`);
    return found;
  }
  if (!PACKAGE_NAME.test(spec)) {
    throw new BackendLoadError('BACKEND_NOT_FOUND', `backend '${spec}' is neither a package name nor a directory path (start a path with ./, ../ or /).`);
  }
  const starts = [...new Set([resolve(options.cwd), resolve(options.installDir)])];
  for (const start of starts) {
    for (let dir = start; ; dir = dirname(dir)) {
      const found = packageAt(join(dir, 'node_modules', spec));
      if (found !== undefined) return found;
      if (dirname(dir) === dir) break;
    }
  }
  const places = starts.map((s, i) => (i === 0 ? `the working directory ${s}` : `${options.installName ?? 'syrupd'}'s installation ${s}`)).join(' and from ');
  throw new BackendLoadError('BACKEND_NOT_FOUND', `backend package '${spec}' is not installed: no node_modules/${spec} from ${places} up to /.`);
}

function packageAt(dir: string): FoundPackage | undefined {
  const file = join(dir, 'package.json');
  if (!existsSync(file) || !statSync(file).isFile()) return undefined;
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new BackendLoadError('BACKEND_NOT_FOUND', `backend package ${dir} has a package.json that is not valid JSON.`, { cause: error });
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new BackendLoadError('BACKEND_NOT_FOUND', `backend package ${dir} has a package.json that is not a JSON object.`);
  }
  // The real directory: a workspace link and its target are one package, loaded once.
  return { dir: realpathSync(dir), manifest: manifest as PackageManifest };
}
