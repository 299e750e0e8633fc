import { open } from 'node:fs/promises';

/** Makes a directory's entries (new files, renames) durable, as file fsync alone does not. */
export async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
