/**
 * Memory a system call reads or writes through a pointer in its attr: the kernel sees
 * `address`, JavaScript sees `bytes` and `view` over the same bytes. The address stays valid
 * for as long as the buffer is reachable, so hot paths allocate their buffers once and pass
 * them to every call instead of copying.
 */
export interface SyscallBuffer {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Address of `bytes[0]` in this process; the fake implementation uses a made-up one. */
  readonly address: bigint;
}
