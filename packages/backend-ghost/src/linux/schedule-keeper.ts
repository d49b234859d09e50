import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { GhostError } from '../ghost-error.js';
import type { ThreadSchedule } from './sched-syscalls.js';

/*
 * The keeper process. It learns each thread's original scheduling before the driver first
 * changes it, one JSON line on stdin per thread, and does nothing else while the agent lives.
 * When its stdin ends without a `done` line (the agent's process died: SIGKILL, a crash, the
 * daemon killed), it puts every thread it knows back and exits. Plain CommonJS with koffi
 * only, so it starts without a TypeScript loader and owes nothing to the agent's code.
 */
const KEEPER_SOURCE = String.raw`
const koffi = require(process.argv[1]);
const N = __NUMBERS__;
const libc = koffi.load('libc.so.6');
const attrCall = libc.func('syscall', 'long', ['long', 'long', 'void *', 'unsigned long', 'unsigned long']);
const maskCall = libc.func('syscall', 'long', ['long', 'long', 'unsigned long', 'void *']);
const saved = new Map();
let done = false;
let text = '';
function restore(tid, s) {
  const attr = new DataView(new ArrayBuffer(56));
  attr.setUint32(0, 56, true);
  attr.setUint32(4, s.policy, true);
  attr.setBigUint64(8, BigInt(s.flags), true);
  attr.setInt32(16, s.nice, true);
  attr.setUint32(20, s.priority, true);
  attrCall(N.setattr, tid, attr.buffer, 0, 0);
  const mask = new Uint8Array(128);
  for (const cpu of s.cpus) mask[cpu >> 3] |= 1 << (cpu & 7);
  maskCall(N.setaffinity, tid, 128, mask.buffer);
}
process.stdin.on('data', (chunk) => {
  text += chunk;
  let end;
  while ((end = text.indexOf('\n')) >= 0) {
    const line = JSON.parse(text.slice(0, end));
    text = text.slice(end + 1);
    if (line.op === 'save') saved.set(line.tid, line.schedule);
    else if (line.op === 'forget') saved.delete(line.tid);
    else if (line.op === 'done') done = true;
  }
});
process.stdin.on('end', () => {
  if (!done) for (const [tid, s] of saved) restore(tid, s);
  process.exit(0);
});
process.on('SIGTERM', () => {});
process.on('SIGINT', () => {});
process.stdout.write('ready\n');
`;

const NUMBERS: Readonly<Record<string, { setattr: number; setaffinity: number }>> = {
  x64: { setattr: 314, setaffinity: 203 },
  arm64: { setattr: 274, setaffinity: 122 },
};

/**
 * The outside guarantee behind ghOSt's "a dead agent hands its threads back": a process of its
 * own, started with the driver, that restores every managed thread's original policy,
 * priority and affinity when the agent's process dies without closing (the kernel closes the
 * pipe to it at once, so it acts within milliseconds). It ignores SIGTERM and SIGINT and sits
 * in its own process group, so what kills a daemon's group does not kill it too.
 */
export class ScheduleKeeper {
  readonly #child: ChildProcess;
  #closed = false;

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  /** Starts the keeper and waits until it listens (it must exist before any thread changes). */
  static async start(): Promise<ScheduleKeeper> {
    const numbers = NUMBERS[process.arch];
    if (numbers === undefined) throw new GhostError('GHOST_KERNEL', `the thread backend knows the sched syscall numbers of x64 and arm64, not ${process.arch}.`);
    const koffiPath = createRequire(import.meta.url).resolve('koffi');
    const source = KEEPER_SOURCE.replace('__NUMBERS__', JSON.stringify(numbers));
    const child = spawn(process.execPath, ['--input-type=commonjs', '-e', source, koffiPath], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code) => reject(new GhostError('GHOST_KERNEL', `the schedule keeper exited with ${String(code)} before it was ready.`)));
        child.stdout?.once('data', () => resolve());
      });
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    child.removeAllListeners('exit');
    child.stdout?.destroy();
    // The keeper must not keep the agent's process alive, nor die with its group.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return new ScheduleKeeper(child);
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  /** Records a thread's original scheduling; call before changing the thread. */
  save(tid: number, schedule: ThreadSchedule): void {
    this.#send({ op: 'save', tid, schedule: { ...schedule, flags: String(schedule.flags) } });
  }

  /** The thread is back as it was (or gone): nothing to restore for it. */
  forget(tid: number): void {
    this.#send({ op: 'forget', tid });
  }

  /**
   * Ends the keeper. `handedBack`: the agent gave every thread back itself, so the keeper exits
   * without acting; otherwise it restores what it knows on its way out.
   */
  close(handedBack = true): void {
    if (this.#closed) return;
    if (handedBack) this.#send({ op: 'done' });
    this.#closed = true;
    this.#child.stdin?.end();
  }

  #send(line: object): void {
    if (this.#closed) return;
    this.#child.stdin?.write(`${JSON.stringify(line)}\n`);
  }
}
