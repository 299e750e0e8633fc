import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errnoCode } from '../errors.js';

/**
 * `mkdir -p` that reports the real reason: Node's recursive mkdir says ENOENT when a parent cannot
 * be created on a read-only or forbidden file system, which would send the operator looking for a
 * missing path. Returns the outermost directory it created, like `mkdir(…, { recursive: true })`.
 */
export async function makeDirectories(path: string): Promise<string | undefined> {
  const missing: string[] = [];
  for (let current = path; ; current = dirname(current)) {
    try {
      await stat(current);
      break;
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT' || dirname(current) === current) throw error;
      missing.unshift(current);
    }
  }
  for (const directory of missing) await mkdir(directory);
  return missing[0];
}
