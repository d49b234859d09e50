/**
 * The files of a new policy pack (`syrup new policy-pack`), as docs/writing-a-policy-pack.md
 * describes one: a package whose `exports` name each policy's TypeScript source, `@syrup/core`
 * as a peer dependency, unit tests against the evaluator (no root) and a kernel test that
 * deploys the policy in-process and checks where datagrams land (root; skipped otherwise).
 */
export function policyPackFiles(packageName: string, policyName: string, syrupVersion: string): Record<string, string> {
  const range = `^${syrupVersion}`;
  const manifest = {
    name: packageName,
    version: '0.1.0',
    description: `Syrup policies: ${policyName}`,
    type: 'module',
    license: 'Apache-2.0',
    engines: { node: '>=24.15.0' },
    exports: { [`./${policyName}`]: `./src/${policyName}.ts` },
    files: ['src', 'README.md'],
    scripts: { test: 'vitest run' },
    peerDependencies: { '@syrup/core': range },
    devDependencies: { '@syrup/core': range, '@syrup/runtime': range, '@syrup/backend-ebpf': range, vitest: '^5.1.1' },
  };
  return {
    'package.json': `${JSON.stringify(manifest, null, 2)}\n`,
    'README.md': `# ${packageName}

A Syrup policy pack. Deploy its policy by package specifier from a directory where the pack is
installed:

\`\`\`sh
npx --no-install syrup deploy ${packageName}/${policyName} --hook socket-select --port 9000 --param SOCKETS=4
\`\`\`

\`npm test\` runs the unit tests (the policy in Syrup's evaluator: no root needed) and, as root,
the kernel test (the policy deployed at the socket-select hook on four UDP sockets).
`,
    [`src/${policyName}.ts`]: `import { definePolicy } from '@syrup/core';

/** Every datagram goes to the next socket in turn; \`next[0]\` counts them. */
export default definePolicy({
  name: '${policyName}',
  input: 'udp',
  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
  params: { SOCKETS: 4 },
  schedule(_pkt, { next }, { SOCKETS }) {
    return next.fetchAdd(0, 1) % SOCKETS;
  },
});
`,
    [`test/${policyName}.test.ts`]: `import { fileURLToPath } from 'node:url';
import { assertDecisions, runPolicy } from '@syrup/core/testing';
import { expect, it } from 'vitest';

const POLICY = fileURLToPath(new URL('../src/${policyName}.ts', import.meta.url));

it('sends each datagram to the next socket, wrapping at SOCKETS', () => {
  const run = runPolicy(POLICY, [{}, {}, {}, {}, {}], { params: { SOCKETS: 3 } });
  assertDecisions(run, [0, 1, 2, 0, 1]);
  expect(run.mapValue('next', 0)).toBe(5n);
});

it('continues from the counter it finds in its map', () => {
  const run = runPolicy(POLICY, [{}, {}], { maps: { next: { 0: 7 } } });
  assertDecisions(run, [3, 0]);
});
`,
    [`test/${policyName}.kernel.test.ts`]: `import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { ebpfBackendModule } from '@syrup/backend-ebpf';
import { embedded } from '@syrup/runtime';
import { expect, it } from 'vitest';

const POLICY = fileURLToPath(new URL('../src/${policyName}.ts', import.meta.url));
const SOCKETS = 4;
const isRoot = process.getuid?.() === 0;

// Loading eBPF programs needs root: as another user this test is skipped, and says so.
it.skipIf(!isRoot)('spreads 8 datagrams evenly over 4 SO_REUSEPORT sockets at the socket-select hook (root)', async () => {
  const sockets: Socket[] = [];
  const received = new Array<number>(SOCKETS).fill(0);
  const syrup = await embedded({ backends: [ebpfBackendModule] });
  try {
    let port = 0;
    for (let i = 0; i < SOCKETS; i++) {
      const socket = createSocket({ type: 'udp4', reusePort: true });
      await new Promise<void>((done) => socket.bind(port, '127.0.0.1', () => done()));
      port = socket.address().port;
      socket.on('message', () => received[i]++);
      sockets.push(socket);
    }
    const deployment = await syrup.deploy(POLICY, { hook: 'socket-select', port, params: { SOCKETS } });
    const sender = createSocket('udp4');
    for (let i = 0; i < 2 * SOCKETS; i++) await new Promise<void>((done) => sender.send(\`datagram \${i}\`, port, '127.0.0.1', () => done()));
    sender.close();
    const deadline = Date.now() + 5000;
    while (received.reduce((a, b) => a + b, 0) < 2 * SOCKETS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(received).toEqual([2, 2, 2, 2]);
    expect(await deployment.maps.next?.get(0)).toBe(BigInt(2 * SOCKETS));
  } finally {
    await syrup.close();
    for (const socket of sockets) socket.close();
  }
}, 60_000);
`,
    'vitest.config.ts': `import { defineConfig } from 'vitest/config';

export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 60_000 } });
`,
    '.gitignore': 'node_modules/\n',
  };
}
