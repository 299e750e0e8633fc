import { afterEach } from 'vitest';
import { removeTempDirs } from './fixtures.js';

afterEach(removeTempDirs);
