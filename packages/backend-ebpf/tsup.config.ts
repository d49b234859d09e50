import { defineConfig } from 'tsup';

/** The package root, ./testing and one entry per subpath export (package.json `exports`). */
const SUBPATHS = ['asm', 'btf', 'codegen', 'features', 'hooks', 'links', 'loader', 'maps', 'pin', 'programs', 'syscalls', 'xsk'];

export default defineConfig({
  entry: ['src/index.ts', 'src/testing.ts', ...SUBPATHS.map((name) => `src/${name}/index.ts`)],
  format: ['esm'],
  target: 'node24',
  dts: true,
  sourcemap: true,
  clean: true,
  tsconfig: 'tsconfig.build.json',
});
