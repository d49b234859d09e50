import { definePolicy, DROP, PASS } from '@syrup/core';

/** Drops IPv4 UDP datagrams to port 53 at XDP; a frame too short for a read passes (reads past the end answer PASS). */
export default definePolicy({
  name: 'dns-drop',
  input: 'packet',
  schedule(frame) {
    if (frame.data.u16(12) !== 0x0800) return PASS;
    if (frame.data.u8(23) !== 17) return PASS;
    const headerLength = (frame.data.u8(14) & 0x0f) * 4;
    if (frame.data.u16(14 + headerLength + 2) === 53) return DROP;
    return PASS;
  },
});
