import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FilesystemObjects } from '../../src/store/filesystem-store.js';
import { tempDir } from '../support/fixtures.js';

async function keysOf(objects: FilesystemObjects, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of objects.list(prefix)) keys.push(key);
  return keys.sort();
}

describe('filesystem store listing', () => {
  it('lists files, directories and what a link to a directory holds, below a key prefix', async () => {
    const base = await tempDir();
    const snapshot = join(base, 'contents/1/5/0/snapshot');
    await mkdir(join(snapshot, 'nested'), { recursive: true });
    await mkdir(join(base, 'elsewhere'));
    await writeFile(join(base, 'elsewhere/linked.sst'), 'x');
    for (const name of ['000012.sst', 'CURRENT', 'nested/inner.sst']) await writeFile(join(snapshot, name), 'x');
    await symlink(join(base, 'elsewhere'), join(snapshot, 'link'));
    await writeFile(join(base, 'contents/1/5/0/segments'), 'a file where a directory could be');
    const objects = new FilesystemObjects(base);

    expect(await keysOf(objects, 'contents/1/5/0/snapshot/')).toEqual([
      'contents/1/5/0/snapshot/000012.sst',
      'contents/1/5/0/snapshot/CURRENT',
      'contents/1/5/0/snapshot/link',
      'contents/1/5/0/snapshot/link/linked.sst',
      'contents/1/5/0/snapshot/nested',
      'contents/1/5/0/snapshot/nested/inner.sst',
    ]);
    expect(await keysOf(objects, 'contents/1/5/0/seg')).toEqual(['contents/1/5/0/segments']);
    expect(await keysOf(objects, 'contents/1/5/0/segments/')).toEqual([]);
    expect(await keysOf(objects, 'contents/2/')).toEqual([]);
  });
});
