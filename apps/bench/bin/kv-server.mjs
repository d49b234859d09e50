#!/usr/bin/env node
// The RocksDB-style UDP key-value server (src/server/kv-server-main.ts), run from source
// through tsx like the syrup CLI. Node must be 24 or later; the workspace's
// node_modules/.bin/node is. `--help` lists the flags. Signals go on to the server, which
// stops cleanly.
import { fileURLToPath } from 'node:url';
import { runTypeScript } from './run-typescript.mjs';

runTypeScript(fileURLToPath(new URL('../src/server/kv-server-main.ts', import.meta.url)));
