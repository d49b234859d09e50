import type { InputField } from '@syrup/core';
import type { RegionAccess } from './region-access.js';
import type { MapOpSlots } from './lower-map-op.js';

/**
 * The stack slots a program keeps between its prologue, body and epilogue. The prologue parses
 * the input once and leaves every field the policy reads in its own slot, so the body reads a
 * field with one load and keeps no header pointers in registers.
 */
export interface Frame {
  /** The context pointer (r1 at entry): the program keeps it here rather than in r6. */
  readonly ctx: number;
  readonly mapSlots: MapOpSlots;
  /** Fields the prologue computes: those the policy reads, and what `hash` is made of. */
  readonly fields: ReadonlyMap<InputField, number>;
  /** How loads reach the payload or frame; absent when the policy loads nothing. */
  readonly access?: RegionAccess;
  /** 32 bytes of prologue scratch (IPv6 addresses at socket-select). */
  readonly buffer?: number;
}

/** The slot of `field`, which the frame must have. */
export function fieldSlot(frame: Frame, field: InputField): number {
  const slot = frame.fields.get(field);
  if (slot === undefined) throw new RangeError(`the frame has no slot for input field '${field}'`);
  return slot;
}
