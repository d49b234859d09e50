#!/usr/bin/env node
// `npm run demo`: a short scan-mix comparison of socket-select policies; see `--help`.
import { fileURLToPath } from 'node:url';
import { runTypeScript } from './run-typescript.mjs';

runTypeScript(fileURLToPath(new URL('../src/runner/demo-main.ts', import.meta.url)));
