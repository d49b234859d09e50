import { defineConfig } from 'tsup';

/** The package root, ./testing and one entry per subpath export (package.json `exports`). */
const SUBPATHS = ['asm', 'btf', 'codegen', 'features', 'hooks', 'links', 'loader', 'maps', 'pin', 'programs', 'readiness', 'syscalls', 'xsk'];

export default defineConfig({
  // The code generation worker is a file of its own (dist/codegen/worker/codegen-worker.js): the backend starts it as a worker thread (codegen/worker/codegen-worker-entry.ts).
  entry: ['src/index.ts', 'src/testing.ts', ...SUBPATHS.map((name) => `src/${name}/index.ts`), 'src/codegen/worker/codegen-worker.ts'],
  format: ['esm'],
  target: 'node24',
  dts: true,
  sourcemap: true,
  clean: true,
  tsconfig: 'tsconfig.build.json',
});
