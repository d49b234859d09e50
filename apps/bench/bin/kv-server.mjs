#!/usr/bin/env node
// The RocksDB-style UDP key-value server (src/server/kv-server-main.ts), run from source
// through tsx like the syrup CLI. Node must be 24 or later; the workspace's
// node_modules/.bin/node is. `--help` lists the flags.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const tsx = pathToFileURL(require.resolve('tsx')).href;
const entry = fileURLToPath(new URL('../src/server/kv-server-main.ts', import.meta.url));
const tsconfig = fileURLToPath(new URL('../tsconfig.tsx.json', import.meta.url));

const child = spawn(process.execPath, ['--conditions=source', '--import', tsx, entry, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig },
});
// Signals sent to this wrapper go on to the server, which stops cleanly; a terminal's Ctrl-C
// reaches both, and the server treats a repeated signal as the same request.
const forward = (signal) => child.kill(signal);
process.on('SIGTERM', forward);
process.on('SIGINT', forward);
child.on('exit', (code, signal) => {
  process.exit(signal !== null ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
});
