// @ts-nocheck: a deliberately invalid policy, checked by the policy compiler's tests, not by tsc.
import { definePolicy } from '@syrup/core';

export default definePolicy({
  name: 'no-schedule',
  input: 'udp',
});
