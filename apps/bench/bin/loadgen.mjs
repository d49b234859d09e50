#!/usr/bin/env node
// Open-loop Poisson load generator (loopback only); see `--help`.
import { fileURLToPath } from 'node:url';
import { runTypeScript } from './run-typescript.mjs';

// --expose-gc: the generator collects the garbage of building its schedule before it starts.
runTypeScript(fileURLToPath(new URL('../src/loadgen/main.ts', import.meta.url)), ['--expose-gc']);
