import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXECUTOR_KINDS } from '@syrup/core';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');

/** Target fields that only the eBPF backend's hooks give a meaning to. */
const BACKEND_FIELDS = ['xskCount', 'xskSockets', 'xskPid', 'xskFrameSize', 'xskFrameCount', 'netns', 'cpus', 'cpuProgram', 'cpuQueueSize', 'sockets', 'address', 'mode'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * The runtime decides ownership for any backend: it may not branch on core's executor kinds
 * nor read a backend's target fields (those rules are the backends' `claims` and `authorize`).
 */
describe("the runtime's sources", () => {
  const files = sourceFiles(SRC).map((path) => ({ path: path.slice(SRC.length + 1), text: readFileSync(path, 'utf8') }));

  it('are read (a guard against a scan of nothing)', () => {
    expect(files.map((f) => f.path)).toContain(join('service', 'runtime-service.ts'));
    expect(files.map((f) => f.path)).toContain(join('service', 'ownership', 'target-ownership.ts'));
  });

  it.each(EXECUTOR_KINDS.map((kind) => [kind]))("name no executor kind '%s' as a string literal", (kind) => {
    const literal = new RegExp(`(['"\`])${kind}\\1`);
    expect(files.filter((f) => literal.test(f.text)).map((f) => f.path)).toEqual([]);
  });

  it.each(BACKEND_FIELDS.map((field) => [field]))("read no backend target field '%s'", (field) => {
    // As a string literal, as extra.<field>, or as extra?.[...]: any way of reading it.
    const use = new RegExp(`(['"\`])${field}\\1|\\bextra\\??\\.${field}\\b`);
    expect(files.filter((f) => use.test(f.text)).map((f) => f.path)).toEqual([]);
  });
});
