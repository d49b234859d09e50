import { syrupVitestConfig } from '../../vitest.base.js';

export default syrupVitestConfig();
