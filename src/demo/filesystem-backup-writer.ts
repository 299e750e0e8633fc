import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type PartitionBackup, type SourceFile, writeCommonBackup } from './common-manifest.js';

export type { PartitionBackup, SourceFile } from './common-manifest.js';

/** Files of a directory under their own names. */
export async function sourceFilesIn(directory: string): Promise<SourceFile[]> {
  const names = (await readdir(directory)).sort();
  return names.map((name) => ({ name, source: join(directory, name) }));
}

/** Writes one partition's backup into a filesystem store exactly as Zeebe's FILESYSTEM store lays it out. */
export async function writeFilesystemBackup(basePath: string, backup: PartitionBackup): Promise<void> {
  await writeCommonBackup(backup, async (object) => {
    const target = join(basePath, object.key);
    await mkdir(dirname(target), { recursive: true });
    await ('source' in object ? copyFile(object.source, target) : writeFile(target, object.text));
  });
}
