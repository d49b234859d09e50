import { describe, expect, it } from 'vitest';

describe('toolchain', () => {
  it('runs on the Node.js the project brings (24 or newer), not the machine default', () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(major).toBeGreaterThanOrEqual(24);
  });

  it('has native explicit resource management (using / Symbol.asyncDispose)', () => {
    expect(typeof Symbol.dispose).toBe('symbol');
    expect(typeof Symbol.asyncDispose).toBe('symbol');
    expect(typeof globalThis.AsyncDisposableStack).toBe('function');
  });
});
