#!/usr/bin/env node
// `npx --no-install syrup` works right after `npm install`: the TypeScript runs through tsx
// from the repository's node_modules. A published @syrup/cli would run its built dist/main.js.
import { fileURLToPath } from 'node:url';
import { runTypeScript } from './run-typescript.mjs';

runTypeScript(fileURLToPath(new URL('../src/main.ts', import.meta.url)), fileURLToPath(new URL('../tsconfig.tsx.json', import.meta.url)));
