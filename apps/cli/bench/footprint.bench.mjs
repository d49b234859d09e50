#!/usr/bin/env node
// The CLI's footprint, measured (a bench, not a timed test; run as root on a quiet machine):
// - the resident memory of the whole process tree `node <cli bin> daemon` starts (no npx, no
//   npm, no shell), idle after it answered `status`;
// - the wall time of `syrup status` and `syrup ls` against it, each next to a bare `node -e 0`,
//   the median of RUNS runs.
// Usage: node apps/cli/bench/footprint.bench.mjs [--runs N]
// It runs whatever bins resolve: the built dist/ when present (npm run build), else the sources.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 9);
const bin = fileURLToPath(new URL('../bin/syrup.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'syrup-footprint-'));
const pinRoot = join('/sys/fs/bpf', basename(dir));
const socket = join(dir, 'syrupd.sock');
const env = { ...process.env, SYRUP_SOCKET: socket };

/** Resident KiB of `pid` and every descendant, read from /proc. */
function treeRss(pid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const rows = [];
  const visit = (p) => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      rows.push({ pid: p, kb, cmd: readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 100) });
    } catch {
      return;
    }
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return rows;
}

function wallMs(args) {
  const start = process.hrtime.bigint();
  const run = spawnSync(args[0], args.slice(1), { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return ms;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const daemon = spawn(process.execPath, [bin, 'daemon', '--pin-root', pinRoot, '--state-file', join(dir, 'state.json'), '--state-dir', join(dir, 'deployments')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
try {
  wallMs([process.execPath, bin, 'status', '--wait', '60']);
  await new Promise((r) => setTimeout(r, 3000));
  const tree = treeRss(daemon.pid);
  console.log(`daemon process tree (idle), started as: node ${bin} daemon`);
  for (const row of tree) console.log(`  pid ${row.pid}  ${(row.kb / 1024).toFixed(1)} MiB  ${row.cmd}`);
  console.log(`  total ${(tree.reduce((a, r) => a + r.kb, 0) / 1024).toFixed(1)} MiB resident in ${tree.length} process(es)`);
  const bare = [];
  const status = [];
  const ls = [];
  for (let i = 0; i < runs; i++) {
    bare.push(wallMs([process.execPath, '-e', '0']));
    status.push(wallMs([process.execPath, bin, 'status']));
    ls.push(wallMs([process.execPath, bin, 'ls']));
  }
  const b = median(bare);
  console.log(`wall time, median of ${runs} runs side by side:`);
  console.log(`  node -e 0      ${b.toFixed(0)} ms`);
  console.log(`  syrup status   ${median(status).toFixed(0)} ms (${(median(status) / b).toFixed(1)}x)`);
  console.log(`  syrup ls       ${median(ls).toFixed(0)} ms (${(median(ls) / b).toFixed(1)}x)`);
} finally {
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  rmSync(pinRoot, { recursive: true, force: true });
}
