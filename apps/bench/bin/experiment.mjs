#!/usr/bin/env node
// The experiment runner (scan-mix, get-only, token-qos); see `--help`.
import { fileURLToPath } from 'node:url';
import { runTypeScript } from './run-typescript.mjs';

runTypeScript(fileURLToPath(new URL('../src/runner/experiment-main.ts', import.meta.url)));
