import type { PinnedBuffer } from './pinned-buffer.js';

/**
 * How the open loop puts requests on the wire and takes replies off it: UDP sockets
 * (`FlowSockets`, loopback or a veth peer) or an AF_XDP socket on the generator's own veth
 * (`XskTransport`), which skips the UDP stack on both paths so one CPU offers more load.
 *
 * The per-request calls take and give integers only: the open loop runs them hundreds of
 * thousands of times a second and must not allocate.
 */
export interface LoadTransport extends Disposable {
  /** Client flows: each its own UDP source port. */
  readonly flows: number;
  /** Queues `length` bytes of `payload` as one datagram on `flow`; false when it could not be queued. */
  send(flow: number, payload: PinnedBuffer, length: number): boolean;
  /** Hands what `send` queued to the kernel (nothing to do where `send` already did). */
  flush(): void;
  /**
   * Takes the next reply off the wire: its payload's length, or -1 when none is waiting. The
   * payload is at `replyOffset` in `replyView` until the next call of `receive` or `send`.
   */
  receive(): number;
  readonly replyView: DataView;
  readonly replyOffset: number;
  /** Replies the transport itself lost in the kernel, where it can tell (null where it cannot). */
  receiveDrops(): number | null;
  close(): void;
}
