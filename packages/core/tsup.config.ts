import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'errors/index': 'src/errors/index.ts', 'testing/index': 'src/testing/index.ts' },
  format: ['esm'],
  target: 'node24',
  dts: true,
  sourcemap: true,
  clean: true,
  tsconfig: 'tsconfig.build.json',
});
