import koffi from 'koffi';

/** A buffer whose address is read once (an ArrayBuffer's backing store never moves), so a native call in the hot path marshals nothing but integers. */
export interface PinnedBuffer {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly address: bigint;
}

export function pinnedBuffer(size: number): PinnedBuffer {
  const buffer = new ArrayBuffer(size);
  return { bytes: new Uint8Array(buffer), view: new DataView(buffer), address: koffi.address(buffer) };
}
