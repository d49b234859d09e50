import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { sourceFilesUnderSrc } from './source-file-size.js';

/**
 * A relative import or re-export: `import ... from './x.js'`, `import type ... from '../y.js'`,
 * `export ... from './z.js'`, or a bare `import './w.js'`. Type-only imports count: a cycle of
 * types still ties two files' contracts together (code-health issue #16 moved such shared
 * types to files of their own). Dynamic `import()` does not: it is how a module reaches one
 * that loads it on purpose, at run time.
 */
const RELATIVE_IMPORT = /^\s*(?:import\s+(?:[^'";]*?\bfrom\s+)?|export\s+(?:type\s+)?(?:\*|\{)[^'";]*?\bfrom\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

/**
 * Files that may import each other because the grammar they lower is recursive: an expression
 * holds a call whose inlined body holds statements holding expressions, and a constant that is
 * not one is lowered to find its error. One file per construct reads better than one file of
 * a thousand lines, and such a cycle is the recursion itself, not a type parked in the wrong
 * file. A cycle is accepted only when every file of it is in one group.
 */
export const RECURSIVE_GROUPS: readonly (readonly string[])[] = [
  ['constant-folder.ts', 'lower-expressions.ts', 'lower-functions.ts', 'lower-statements.ts'].map((file) => `packages/core/src/compiler/${file}`),
];

/**
 * One sentence per import cycle among the hand-written source files under `src/` below
 * `root`, naming its files in import order from the alphabetically first, e.g. `import cycle:
 * packages/a/src/x.ts -> packages/a/src/y.ts -> packages/a/src/x.ts.` A module's specifier
 * `./y.js` names `y.ts` (TypeScript's ESM convention) or `y.js`.
 */
export function importCycles(root: string, recursiveGroups: readonly (readonly string[])[] = RECURSIVE_GROUPS): string[] {
  const files = new Set(sourceFilesUnderSrc(root).map((path) => resolve(path)));
  const edges = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(RELATIVE_IMPORT)].map((match) => target(file, match[1] as string, files)).filter((t): t is string => t !== undefined);
    edges.set(file, [...new Set(targets)]);
  }
  return stronglyConnected(edges)
    .filter((component) => component.length > 1 || (edges.get(component[0] as string) ?? []).includes(component[0] as string))
    .filter((component) => !recursiveGroups.some((group) => component.every((file) => group.includes(relative(root, file)))))
    .map((component) => `import cycle: ${cycleThrough(component, edges).map((file) => relative(root, file)).join(' -> ')}.`)
    .sort();
}

/** The file a relative specifier names, if it is one of `files`. */
function target(from: string, specifier: string, files: ReadonlySet<string>): string | undefined {
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), base, join(base, 'index.ts')];
  return candidates.find((candidate) => files.has(candidate));
}

/** Tarjan's strongly connected components, iteratively (no recursion depth limit on long import chains). */
function stronglyConnected(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  for (const start of edges.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; child: number }[] = [{ node: start, child: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { node: string; child: number };
      const children = edges.get(frame.node) ?? [];
      if (frame.child < children.length) {
        const child = children[frame.child++] as string;
        if (!index.has(child)) {
          index.set(child, next);
          low.set(child, next++);
          stack.push(child);
          onStack.add(child);
          work.push({ node: child, child: 0 });
        } else if (onStack.has(child)) {
          low.set(frame.node, Math.min(low.get(frame.node) as number, index.get(child) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(frame.node) as number));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop() as string;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}

/** A path through the component from its first file back to it (breadth-first, so the shortest). */
function cycleThrough(component: readonly string[], edges: ReadonlyMap<string, readonly string[]>): string[] {
  const members = new Set(component);
  const first = [...component].sort()[0] as string;
  const cameFrom = new Map<string, string>();
  const queue = [first];
  while (queue.length > 0) {
    const node = queue.shift() as string;
    for (const child of edges.get(node) ?? []) {
      if (!members.has(child)) continue;
      if (child === first) {
        const path = [first];
        for (let at: string | undefined = node; at !== undefined && at !== first; at = cameFrom.get(at)) path.splice(1, 0, at);
        return [...path, first];
      }
      if (!cameFrom.has(child)) {
        cameFrom.set(child, node);
        queue.push(child);
      }
    }
  }
  return [first, first];
}
