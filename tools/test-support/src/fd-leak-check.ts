// A vitest setup file (wired in vitest.base.ts for every kernel suite): a test file that ends
// with more bpf maps, programs, links, BTF or perf events open than it started with fails.
//
// Why a baseline per test file, taken in a root beforeAll: the worker may have opened kernel
// objects before this file's tests (the capability probe of the kernel gate, another file run
// in the same worker), and those are not this file's leak. Why only kernel objects: node and
// libuv open fds lazily (epoll, eventfd, pipes for children, the worker's IPC sockets) and at
// moments a test does not choose, so counting every fd would flag the runtime; they never open
// a bpf object, so a new one is always the test's. Why afterAll and not afterEach: a suite may
// keep one deployment across its tests and close it in its own afterAll, which vitest runs
// before this one (after-hooks run in reverse order of registration, and this file registers
// first).
import { afterAll, beforeAll } from 'vitest';
import { isKernelObject, openFds, type OpenFd } from './open-fds.js';

let baseline: ReadonlySet<string> = new Set();

const key = (fd: OpenFd): string => `${fd.fd} ${fd.target}`;

beforeAll(() => {
  baseline = new Set(openFds().filter((fd) => isKernelObject(fd.target)).map(key));
});

afterAll(() => {
  const leaked = openFds().filter((fd) => isKernelObject(fd.target) && !baseline.has(key(fd)));
  if (leaked.length === 0) return;
  const list = leaked.map((fd) => `fd ${fd.fd} (${fd.target})`).join(', ');
  throw new Error(`fd leak: this test file left ${leaked.length} kernel object(s) open that were not open before it: ${list}. Close them (or hold them with \`using\`) in the test or its after-hooks.`);
});
