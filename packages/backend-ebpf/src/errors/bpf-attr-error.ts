/** A value that cannot be encoded into a kernel attr (a name too long, a number out of range). */
export class BpfAttrError extends Error {
  override readonly name = 'BpfAttrError';
  readonly code = 'BPF_ATTR_INVALID';
  /** The attr field, as the kernel names it (`map_name`, `max_entries`). */
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}
