import { execFileSync } from 'node:child_process';
import { cpus, release } from 'node:os';

export interface MachineInfo {
  readonly cpus: number;
  readonly model: string;
  readonly kernel: string;
  readonly node: string;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return { cpus: list.length, model: list[0]?.model ?? 'unknown', kernel: release(), node: process.version };
}

/** The commit the results come from ("unknown" outside a git checkout). */
export function gitCommit(cwd: string): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** Whether the working tree has uncommitted changes (results from a dirty tree say so). */
export function gitDirty(cwd: string): boolean {
  try {
    return execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
  } catch {
    return false;
  }
}
