import { defineConfig } from 'tsup';

export default defineConfig({
  // The compile worker is a file of its own: the service starts it as a worker thread (service/compile/compile-worker-entry.ts).
  entry: { index: 'src/index.ts', 'client/index': 'src/client/index.ts', 'compile-worker': 'src/service/compile/compile-worker.ts' },
  format: ['esm'],
  target: 'node24',
  dts: true,
  sourcemap: true,
  clean: true,
  tsconfig: 'tsconfig.build.json',
});
