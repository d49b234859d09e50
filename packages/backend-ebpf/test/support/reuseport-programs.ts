import { Add, call, exit, JEq, JGT, label, loadMapPtr, loadMem, Mov, R0, R1, R2, R3, R4, R5, R6, R10, storeMem, type AsmItem } from '../../src/asm/index.js';
import { Program } from '../../src/programs/program.js';
import type { MapReference } from '../../src/programs/program-load-spec.js';
import { AttachType, ProgType } from '../../src/syscalls/bpf-constants.js';

export const SK_DROP = 0;
export const SK_PASS = 1;

/**
 * An SK_REUSEPORT program that selects socket `sockets[payload[0]]`: `sk_reuseport_md.data`
 * points at the UDP header, so the payload starts 8 bytes in. A first byte of 0xff drops
 * the datagram; a missing or empty index falls back to the kernel's hash (SK_PASS without a
 * selection).
 */
export function selectByFirstByte(): AsmItem[] {
  return [
    Mov.reg(R6, R1),
    loadMem(R2, R6, 0, 'DW'),
    loadMem(R3, R6, 8, 'DW'),
    Mov.reg(R4, R2),
    Add.imm(R4, 9),
    JGT.reg(R4, R3, 'pass'),
    loadMem(R5, R2, 8, 'B'),
    JEq.imm(R5, 0xff, 'drop'),
    storeMem(R10, -4, R5, 'W'),
    Mov.reg(R1, R6),
    loadMapPtr(R2, 'sockets'),
    Mov.reg(R3, R10),
    Add.imm(R3, -4),
    Mov.imm(R4, 0),
    call('sk_select_reuseport'),
    label('pass'),
    Mov.imm(R0, SK_PASS),
    exit(),
    label('drop'),
    Mov.imm(R0, SK_DROP),
    exit(),
  ];
}

export function loadReuseport(name: string, instructions: readonly AsmItem[], maps: Record<string, MapReference> = {}): Program {
  return Program.load({
    name,
    type: ProgType.SK_REUSEPORT,
    expectedAttachType: AttachType.SK_REUSEPORT_SELECT,
    license: 'GPL',
    instructions,
    maps: new Map(Object.entries(maps)),
  });
}
