import { Add, And, JEq, JNE, JSet, Mov, R0, R1, R10, R2, R3, R4, R6, R7, R8, R9, atomicFetch, call, exit, label, loadMapPtr, loadMem, storeImm, storeMem, type AsmItem } from '@syrup/backend-ebpf/asm';

/** Where the programs read a task's fields: byte offsets in this kernel's `task_struct` (from its BTF). */
export interface TaskOffsets {
  readonly pid: number;
  readonly tgid: number;
  /** `se.sum_exec_runtime`: nanoseconds the task has run. */
  readonly runtime: number;
  /** `flags` (PF_*). */
  readonly flags: number;
}

/** The `type` word of a ring buffer record. */
export const RECORD_TYPES = { new: 1, wakeup: 2, 'on-cpu': 3, preempted: 4, blocked: 6, dead: 7 } as const;

/**
 * A ring buffer record: u32 type, u32 tid, u64 seq, u64 time (ns, CLOCK_MONOTONIC), u64
 * runtime (ns), u32 cpu, u32 zero.
 */
export const RECORD_SIZE = 40;

/**
 * The maps the programs name: `target` (array, [0] = the enclave's tgid in its low word and
 * {@link TARGET_FLAGS} in its high word), `seqs` (hash tid -> seq), `threads` (hash tid -> any:
 * the threads reported under `TARGET_FLAGS.listedThreads`), `events` (ring buffer).
 */
export const SCHED_MAPS = { target: 'target', seqs: 'seqs', threads: 'threads', events: 'events' } as const;

/**
 * Options in the high word of `target[0]`. `listedThreads`: only the threads in `threads` are
 * reported (the others of the process are not counted either). `wakeOnWakeup`: only `new` and
 * `wakeup` records wake the reader (forced), every other record waits for the next one that
 * does; without it, the ring buffer wakes the reader whenever it had caught up.
 */
export const TARGET_FLAGS = { listedThreads: 1, wakeOnWakeup: 2 } as const;

/** The sched tracepoints the driver attaches to, and what each program reports. */
export const SCHED_TRACEPOINTS = ['sched_switch', 'sched_wakeup', 'sched_wakeup_new', 'sched_process_exit'] as const;
export type SchedTracepoint = (typeof SCHED_TRACEPOINTS)[number];

// Stack slots (below the frame pointer).
const TGID = -8;
const KEY0 = -16;
const TID = -24;
const ZERO = -32;
const TYPE = -40;
const BPF_NOEXIST = 1;
/** `TASK_DEAD` in `__state` and `PF_EXITING` in `flags` (include/linux/sched.h). */
const TASK_DEAD = 0x80;
const PF_EXITING = 0x4;
const FLAGS = -48;
const OPTIONS = -56;
/** bpf_ringbuf_submit's flags. */
const BPF_RB_NO_WAKEUP = 1;
const BPF_RB_FORCE_WAKEUP = 2;

/**
 * The raw tracepoint program for `tracepoint`. Raw tracepoint arguments are the
 * tracepoint's C arguments as u64s: sched_switch(preempt, prev, next, prev_state),
 * sched_wakeup(p), sched_wakeup_new(p), sched_process_exit(p, group_dead).
 *
 * For each task of the enclave's process (tgid = target[0]) it counts one change in
 * seqs[tid] (created at 0 on first sight, then atomically incremented: the task barrier)
 * and publishes a record with the new count. A task's records therefore carry increasing
 * seqs, and userspace compares a decision's barrier with seqs[tid] before committing it.
 * Tasks of other processes cost two probe reads and a lookup.
 */
export function schedEventProgram(tracepoint: SchedTracepoint, offsets: TaskOffsets): AsmItem[] {
  const out: AsmItem[] = [Mov.reg(R6, R1)];
  switch (tracepoint) {
    case 'sched_switch':
      // prev blocked when it was not preempted and its state is not TASK_RUNNING (how __schedule decides to dequeue).
      // A dead task's last switch is not a change: its exit was reported (and its counter dropped) already.
      out.push(
        storeImm(R10, TYPE, RECORD_TYPES.preempted, 'W'),
        loadMem(R1, R6, 24, 'DW'),
        JEq.imm32(R1, TASK_DEAD, 'next'),
        loadMem(R2, R6, 0, 'DW'),
        JNE.imm(R2, 0, 'prev'),
        JEq.imm32(R1, 0, 'prev'),
        storeImm(R10, TYPE, RECORD_TYPES.blocked, 'W'),
        label('prev'),
        ...emitRecord(8, offsets, 'p'),
        label('next'),
        storeImm(R10, TYPE, RECORD_TYPES['on-cpu'], 'W'),
        ...emitRecord(16, offsets, 'n'),
      );
      break;
    case 'sched_wakeup':
      out.push(storeImm(R10, TYPE, RECORD_TYPES.wakeup, 'W'), ...emitRecord(0, offsets, 'w'));
      break;
    case 'sched_wakeup_new':
      out.push(storeImm(R10, TYPE, RECORD_TYPES.new, 'W'), ...emitRecord(0, offsets, 'w'));
      break;
    case 'sched_process_exit':
      out.push(storeImm(R10, TYPE, RECORD_TYPES.dead, 'W'), ...emitRecord(0, offsets, 'x', true));
      break;
  }
  out.push(Mov.imm(R0, 0), exit());
  return out;
}

/** Reports the task in ctx argument `arg` (R6 = ctx) with the type stored at TYPE; `forget` drops its counter afterwards (exit). */
function emitRecord(arg: number, offsets: TaskOffsets, tag: string, forget = false): AsmItem[] {
  const skip = `skip_${tag}`;
  return [
    loadMem(R7, R6, arg, 'DW'),
    // tgid == target[0]?
    Mov.reg(R1, R10),
    Add.imm(R1, TGID),
    Mov.imm(R2, 4),
    Mov.reg(R3, R7),
    Add.imm(R3, offsets.tgid),
    call('probe_read_kernel'),
    JNE.imm(R0, 0, skip),
    storeImm(R10, KEY0, 0, 'W'),
    loadMapPtr(R1, SCHED_MAPS.target),
    Mov.reg(R2, R10),
    Add.imm(R2, KEY0),
    call('map_lookup_elem'),
    JEq.imm(R0, 0, skip),
    loadMem(R1, R0, 0, 'W'),
    loadMem(R2, R10, TGID, 'W'),
    JNE.reg(R1, R2, skip),
    loadMem(R1, R0, 4, 'W'),
    storeMem(R10, OPTIONS, R1, 'W'),
    // An exiting task's exit message is its last: what it does after (sleeping in exit_mm, its
    // last switch) would create its counter again and make a dead thread look alive.
    ...(forget
      ? []
      : [
          Mov.reg(R1, R10),
          Add.imm(R1, FLAGS),
          Mov.imm(R2, 4),
          Mov.reg(R3, R7),
          Add.imm(R3, offsets.flags),
          call('probe_read_kernel'),
          JNE.imm(R0, 0, skip),
          loadMem(R1, R10, FLAGS, 'W'),
          JSet.imm(R1, PF_EXITING, skip),
        ]),
    // tid, and its counter (created at 0 the first time).
    Mov.reg(R1, R10),
    Add.imm(R1, TID),
    Mov.imm(R2, 4),
    Mov.reg(R3, R7),
    Add.imm(R3, offsets.pid),
    call('probe_read_kernel'),
    JNE.imm(R0, 0, skip),
    // Only listed threads, when the driver asked for that.
    loadMem(R1, R10, OPTIONS, 'W'),
    And.imm(R1, TARGET_FLAGS.listedThreads),
    JEq.imm(R1, 0, `listed_${tag}`),
    loadMapPtr(R1, SCHED_MAPS.threads),
    Mov.reg(R2, R10),
    Add.imm(R2, TID),
    call('map_lookup_elem'),
    JEq.imm(R0, 0, skip),
    label(`listed_${tag}`),
    storeImm(R10, ZERO, 0, 'DW'),
    loadMapPtr(R1, SCHED_MAPS.seqs),
    Mov.reg(R2, R10),
    Add.imm(R2, TID),
    Mov.reg(R3, R10),
    Add.imm(R3, ZERO),
    Mov.imm(R4, BPF_NOEXIST),
    call('map_update_elem'),
    loadMapPtr(R1, SCHED_MAPS.seqs),
    Mov.reg(R2, R10),
    Add.imm(R2, TID),
    call('map_lookup_elem'),
    JEq.imm(R0, 0, skip),
    Mov.imm(R8, 1),
    atomicFetch('add', R0, 0, R8),
    Add.imm(R8, 1),
    // The record.
    loadMapPtr(R1, SCHED_MAPS.events),
    Mov.imm(R2, RECORD_SIZE),
    Mov.imm(R3, 0),
    call('ringbuf_reserve'),
    JEq.imm(R0, 0, skip),
    Mov.reg(R9, R0),
    loadMem(R1, R10, TYPE, 'W'),
    storeMem(R9, 0, R1, 'W'),
    loadMem(R1, R10, TID, 'W'),
    storeMem(R9, 4, R1, 'W'),
    storeMem(R9, 8, R8, 'DW'),
    call('ktime_get_ns'),
    storeMem(R9, 16, R0, 'DW'),
    Mov.reg(R1, R9),
    Add.imm(R1, 24),
    Mov.imm(R2, 8),
    Mov.reg(R3, R7),
    Add.imm(R3, offsets.runtime),
    call('probe_read_kernel'), // zeroes the field when it fails
    call('get_smp_processor_id'),
    storeMem(R9, 32, R0, 'W'),
    storeImm(R9, 36, 0, 'W'),
    // The submit flags: 0 (adaptive), or under wakeOnWakeup, forced for new and wakeup, none for the rest.
    Mov.imm(R2, 0),
    loadMem(R1, R10, OPTIONS, 'W'),
    And.imm(R1, TARGET_FLAGS.wakeOnWakeup),
    JEq.imm(R1, 0, `submit_${tag}`),
    Mov.imm(R2, BPF_RB_FORCE_WAKEUP),
    loadMem(R1, R10, TYPE, 'W'),
    JEq.imm(R1, RECORD_TYPES.wakeup, `submit_${tag}`),
    JEq.imm(R1, RECORD_TYPES.new, `submit_${tag}`),
    Mov.imm(R2, BPF_RB_NO_WAKEUP),
    label(`submit_${tag}`),
    Mov.reg(R1, R9),
    call('ringbuf_submit'),
    ...(forget ? [loadMapPtr(R1, SCHED_MAPS.seqs), Mov.reg(R2, R10), Add.imm(R2, TID), call('map_delete_elem')] : []),
    label(skip),
  ];
}
