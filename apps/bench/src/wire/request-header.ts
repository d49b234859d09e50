/**
 * The request wire format shared by the key-value server, the load generator and the
 * policies in @syrup/policies-std (which read the same offsets in their schedule functions).
 * Big-endian; a reply echoes the 24-byte header, followed by the value bytes.
 *
 *   bytes 0-3   request type (0 GET, 1 SCAN, 2 PUT)
 *   bytes 4-7   user id
 *   bytes 8-15  request id
 *   bytes 16-23 key
 */
export const HEADER_BYTES = 24;

export const RequestType = { GET: 0, SCAN: 1, PUT: 2 } as const;
export type RequestType = (typeof RequestType)[keyof typeof RequestType];

const TYPE_OFFSET = 0;
const USER_OFFSET = 4;
const REQUEST_ID_OFFSET = 8;
const KEY_OFFSET = 16;

export interface RequestHeader {
  readonly type: RequestType;
  readonly user: number;
  readonly requestId: bigint;
  readonly key: bigint;
}

/**
 * Writes a header into `view` at offset 0 without allocating (the load generator's hot path
 * reuses one buffer per flow).
 */
export function writeRequestHeader(view: DataView, type: RequestType, user: number, requestId: bigint, key: bigint): void {
  view.setUint32(TYPE_OFFSET, type);
  view.setUint32(USER_OFFSET, user);
  view.setBigUint64(REQUEST_ID_OFFSET, requestId);
  view.setBigUint64(KEY_OFFSET, key);
}

/** The header of a request or reply, or undefined when `view` is shorter than a header or the type is unknown. */
export function readRequestHeader(view: DataView): RequestHeader | undefined {
  if (view.byteLength < HEADER_BYTES) return undefined;
  const type = view.getUint32(TYPE_OFFSET);
  if (type !== RequestType.GET && type !== RequestType.SCAN && type !== RequestType.PUT) return undefined;
  return { type, user: view.getUint32(USER_OFFSET), requestId: view.getBigUint64(REQUEST_ID_OFFSET), key: view.getBigUint64(KEY_OFFSET) };
}

/** The request type field alone (hot paths avoid building a header object). */
export function requestTypeOf(view: DataView): number {
  return view.getUint32(TYPE_OFFSET);
}

/** The request id field alone. */
export function requestIdOf(view: DataView): bigint {
  return view.getBigUint64(REQUEST_ID_OFFSET);
}
