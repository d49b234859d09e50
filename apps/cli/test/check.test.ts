import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = join(here, '../../..');
const NODE = join(REPO, 'node_modules/.bin/node');
const SYRUP_BIN = join(here, '../bin/syrup.mjs');
// A specifier's policy is named by its file's path from the working directory (here the repository), as every policy message does.
const TOKEN_QOS_LINES = [
  "packages/policies-std/src/token-qos.ts:15:9: compareExchange() on map 'tokens' needs an atomic that returns the old value; the NFP has only an atomic add that returns nothing.",
  "packages/policies-std/src/token-qos.ts:45:12: the answer of fetchAdd() on map 'next' is used; the NFP has only an atomic add that returns nothing (call fetchAdd as a statement).",
];

/**
 * `syrup check` as a user runs it, from the repository, with no daemon anywhere: the CLI loads
 * the installed backends itself. When the tests run as root, they run the command as uid
 * 65534, since it must need no privilege.
 */
function check(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  return run(process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}, ['check', ...args]);
}

function run(asNobody: { uid?: number; gid?: number }, args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(NODE, [SYRUP_BIN, ...args], {
    cwd: REPO,
    env: { PATH: `${join(REPO, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}`, HOME: tmpdir() },
    encoding: 'utf8',
    timeout: 60_000,
    ...asNobody,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'syrup-check-'));
// The command may run as uid 65534: it must reach the policies written here.
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('syrup check', { timeout: 120_000 }, () => {
  it('prints each violation at its line, the profile, and exits 2 when the policy cannot run at the hook', () => {
    const result = check('@syrup/policies-std/token-qos', '--hook', 'xdp-offload');
    expect(result.code).toBe(2);
    const lines = result.stdout.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual(TOKEN_QOS_LINES);
    expect(lines[2]).toMatch(/^validated against NFP firmware profile agilio-bpf-default: helpers bpf_map_lookup_elem, bpf_map_update_elem, bpf_map_delete_elem, bpf_get_prandom_u32;/);
    expect(lines[3]).toBe('the policy cannot run at xdp-offload.');
    expect(result.stderr).toBe('');
  });

  it('answers JSON with --json, and 0 for a policy that runs there', () => {
    const refused = check('@syrup/policies-std/token-qos', '--hook', 'xdp-offload', '--json');
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.stdout)).toEqual({
      ok: false,
      violations: TOKEN_QOS_LINES.map((line) => {
        const [file, l, c] = line.split(':');
        return { file, line: Number(l), column: Number(c), reason: line.slice(`${file}:${l}:${c}: `.length) };
      }),
    });
    const ok = check('@syrup/policies-std/key-hash', '--hook', 'xdp-offload', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ ok: true, violations: [] });
  });

  it('works for eBPF hooks, and names the file as given', () => {
    expect(check('packages/policies-std/src/token-qos.ts', '--hook', 'xdp-drv', '--port', '9000').stdout.trim().split('\n')).toEqual([
      "not checked by the kernel's verifier (backend ebpf needs root for that)",
      'ok: the policy can run at xdp-drv (backend ebpf).',
    ]);
    const policy = join(dir, 'uses-cpu.ts');
    writeFileSync(policy, "import { definePolicy, cpu } from '@syrup/core';\nexport default definePolicy({ name: 'uses-cpu', input: 'tcp', schedule() { return cpu(); } });\n");
    const result = check(policy, '--hook', 'xdp-drv');
    expect(result.code).toBe(2);
    expect(result.stdout.trim().split('\n')[0]).toBe(`${policy}:1:1: policy 'uses-cpu' takes tcp inputs, and hook 'xdp-drv' offers packet and udp.`);
  });

  it("reports the front end's refusal at its line", () => {
    const policy = join(dir, 'broken.ts');
    writeFileSync(policy, "import { definePolicy } from '@syrup/core';\nexport default definePolicy({ name: 'broken', input: 'udp', schedule(pkt) { return pkt.nope; } });\n");
    const result = check(policy, '--hook', 'xdp-offload', '--json');
    expect(result.code).toBe(2);
    const answer = JSON.parse(result.stdout) as { ok: boolean; violations: { file: string; line: number }[] };
    expect(answer.ok).toBe(false);
    expect(answer.violations).toHaveLength(1);
    expect(answer.violations[0]).toMatchObject({ file: policy, line: 2 });
  });

  it('loads only the named backends with --backend, and says when none provides the hook', () => {
    const result = check('@syrup/policies-std/key-hash', '--hook', 'xdp-offload', '--backend', '@syrup/backend-ebpf');
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toBe("syrup: no backend loaded here provides hook 'xdp-offload' (loaded: @syrup/backend-ebpf).");
  });
});

// The verifier needs the privileges the kernel suites have; without them this skips with its reason.
describeKernel('syrup check with BPF privileges', { needs: ['bpf'] }, () => {
  it('has the kernel verify the program of an eBPF hook', { timeout: 120_000 }, () => {
    expect(run({}, ['check', 'packages/policies-std/src/token-qos.ts', '--hook', 'xdp-drv', '--port', '9000']).stdout.trim()).toBe('ok: the policy can run at xdp-drv (backend ebpf).');
  });
});
