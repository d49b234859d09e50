import { LowLevelError } from '@syrup/errors';

/** A value that cannot be encoded into a kernel attr (a name too long, a number out of range). */
export class BpfAttrError extends LowLevelError<'BPF_ATTR_INVALID'> {
  override readonly name = 'BpfAttrError';
  /** The attr field, as the kernel names it (`map_name`, `max_entries`). */
  readonly field: string;

  constructor(field: string, message: string) {
    super('BPF_ATTR_INVALID', message);
    this.field = field;
  }
}
