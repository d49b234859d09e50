#!/usr/bin/env node
// The syrupd daemon. An installed package runs its built dist/main.js; a clone that was never
// built (or SYRUP_FROM_SOURCE=1, while editing src/ after a build) runs the TypeScript sources
// through run-typescript.mjs, which needs the repository's dev dependencies (tsx).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkNode } from './check-node.mjs';

checkNode('syrupd', new URL('../package.json', import.meta.url));
const built = new URL('../dist/main.js', import.meta.url);
if (existsSync(fileURLToPath(built)) && process.env.SYRUP_FROM_SOURCE !== '1') {
  await import(built.href);
} else {
  const { runTypeScript } = await import('./run-typescript.mjs');
  runTypeScript(fileURLToPath(new URL('../src/main.ts', import.meta.url)), fileURLToPath(new URL('../tsconfig.tsx.json', import.meta.url)));
}
