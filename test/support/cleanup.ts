import { afterAll } from 'vitest';
import { removeTempDirs } from './fixtures.js';

// After the whole file, so directories made in beforeAll hooks live as long as their tests.
afterAll(removeTempDirs);
