#!/usr/bin/env node
// The syrupd daemon. An installed package runs its built dist/main.js; a clone that was never
// built (or SYRUP_FROM_SOURCE=1, while editing src/ after a build) runs the TypeScript sources
// through run-typescript.mjs, which needs the repository's dev dependencies (tsx).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkNode } from './check-node.mjs';

/**
 * V8 flags the daemon runs with. A 2 MiB young-generation semispace: V8 grows it up to 16 MiB
 * under a burst of allocation (a client flooding requests) and keeps the pages, so a daemon that
 * idles at about 100 MiB stayed 20-23 MiB above that after one flood; with the cap it returns to
 * within 3 MiB, and compiles (in their worker) take as long (apps/syrupd/README.md, "Memory").
 */
const DAEMON_NODE_FLAGS = ['--max-semi-space-size=2'];
// Given through NODE_OPTIONS, not as arguments: Node refuses V8 flags in a worker's execArgv,
// which the daemon's workers inherit from process.execArgv.
const nodeOptions = [process.env.NODE_OPTIONS ?? '', ...DAEMON_NODE_FLAGS.filter((flag) => !(process.env.NODE_OPTIONS ?? '').split(/\s+/).includes(flag))].join(' ').trim();

checkNode('syrupd', new URL('../package.json', import.meta.url));
const built = new URL('../dist/main.js', import.meta.url);
if (existsSync(fileURLToPath(built)) && process.env.SYRUP_FROM_SOURCE !== '1') {
  // The flags take effect only when V8 starts: this process becomes a Node started with them
  // (execve keeps the pid, stdio and signals), unless it was started with them already.
  if (nodeOptions !== (process.env.NODE_OPTIONS ?? '') && typeof process.execve === 'function') {
    process.execve(process.execPath, [process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { ...process.env, NODE_OPTIONS: nodeOptions });
  }
  await import(built.href);
} else {
  const { runTypeScript } = await import('./run-typescript.mjs');
  runTypeScript(fileURLToPath(new URL('../src/main.ts', import.meta.url)), fileURLToPath(new URL('../tsconfig.tsx.json', import.meta.url)), { NODE_OPTIONS: nodeOptions });
}
