#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { runTypeScript } from './run-typescript.mjs';

runTypeScript(fileURLToPath(new URL('../src/main.ts', import.meta.url)), fileURLToPath(new URL('../tsconfig.tsx.json', import.meta.url)));
