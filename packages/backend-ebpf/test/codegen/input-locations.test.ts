import { INPUT_FIELDS, STANDARD_INPUT_FIELDS, type InputKind } from '@syrup/core';
import { describe, expect, it } from 'vitest';
import { SOCKET_SELECT_LOCATIONS, XDP_LOCATIONS, type FieldLocation, type KindLocations } from '../../src/codegen/input-locations.js';
import { SOCKET_SELECT_TARGET } from '../../src/codegen/targets/socket-select-target.js';
import { XDP_PROGRAM } from '../../src/codegen/targets/xdp-targets.js';

/** The bits a location delivers: what value-bounds.ts takes from core's width, so the two must agree. */
const LOCATION_BITS: Readonly<Record<FieldLocation['at'], number>> = { transport: 16, 'udp-length': 16, 'ip-address': 32, 'frame-length': 32, 'flow-hash': 32 };

describe('the location table', () => {
  it.each<[string, readonly InputKind[], Readonly<Partial<Record<InputKind, KindLocations>>>]>([
    ['socket-select', SOCKET_SELECT_TARGET.inputs, SOCKET_SELECT_LOCATIONS],
    ['the XDP prologues', XDP_PROGRAM.inputs, XDP_LOCATIONS],
  ])('places every field of every kind %s parses, at a location as wide as core says', (_, inputs, locations) => {
    expect(Object.keys(locations).sort()).toEqual([...inputs].sort());
    for (const kind of inputs) {
      const placed = locations[kind] ?? {};
      expect(Object.keys(placed).sort()).toEqual([...INPUT_FIELDS[kind]].sort());
      for (const [field, location] of Object.entries(placed)) {
        expect({ field, bits: LOCATION_BITS[location.at] }).toEqual({ field, bits: STANDARD_INPUT_FIELDS.field(kind, field)?.width });
      }
    }
  });
});
