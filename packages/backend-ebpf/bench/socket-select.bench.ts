/**
 * Runs bench/socket-select-bench.ts alone: progress on stderr, then the result as one JSON
 * line, the last line of stdout.
 *
 * Run (as root, in packages/backend-ebpf):
 *   npx tsx --conditions=source bench/socket-select.bench.ts
 * BENCH_ROUNDS, BENCH_WINDOW_MS, BENCH_SETTLE_MS and BENCH_DEPLOY_CYCLES shorten or lengthen it;
 * BENCH_TRAFFIC=python uses the Python traffic tool even where cc works.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/*
 * tsx applies compiler options only to the files its tsconfig includes, and core's sources
 * need experimentalDecorators, which bench/tsconfig.json turns on for them (npm run bench
 * passes --tsconfig for the same reason). Run without it, this file starts itself again with
 * tsx's TSX_TSCONFIG_PATH pointing there; the benchmark is imported dynamically, so nothing
 * of core is transformed before that.
 */
const tsconfig = fileURLToPath(new URL('./tsconfig.json', import.meta.url));
if (process.env['TSX_TSCONFIG_PATH'] === undefined) {
  const rerun = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig },
  });
  process.exit(rerun.status ?? 1);
}

function numberFromEnv(name: string): number | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : Number(value);
}

const { measureSocketSelect } = await import('./socket-select-bench.js');
const rounds = numberFromEnv('BENCH_ROUNDS');
const windowMs = numberFromEnv('BENCH_WINDOW_MS');
const deployCycles = numberFromEnv('BENCH_DEPLOY_CYCLES');
const settleMs = numberFromEnv('BENCH_SETTLE_MS');
const result = await measureSocketSelect({
  ...(rounds === undefined ? {} : { rounds }),
  ...(windowMs === undefined ? {} : { windowMs }),
  ...(deployCycles === undefined ? {} : { deployCycles }),
  ...(settleMs === undefined ? {} : { settleMs }),
  forcePython: process.env['BENCH_TRAFFIC'] === 'python',
});
process.stdout.write(`${JSON.stringify(result)}\n`);
