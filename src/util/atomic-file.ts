import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDirectory } from './fsync.js';

/**
 * Writes a small file so that readers, and a crash, see the old content or the new, never half.
 * `temporary` must be on the same file system; a crash may leave it behind.
 */
export async function writeFileAtomically(path: string, content: string, temporary: string): Promise<void> {
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  await fsyncDirectory(dirname(path));
}
