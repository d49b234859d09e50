// @ts-nocheck: a deliberately invalid policy, checked by the policy compiler's tests, not by tsc.
import { definePolicy } from '@syrup/core';

export const a = definePolicy({ name: 'a', input: 'udp', schedule: () => 0 });
export const b = definePolicy({ name: 'b', input: 'udp', schedule: () => 1 });
