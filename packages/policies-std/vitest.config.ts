import { syrupVitestConfig } from '../../vitest.base.js';

// The kernel tests (test/*.kernel.test.ts) load programs through @syrup/backend-ebpf, a dev-only dependency.
export default syrupVitestConfig({ kernel: true });
