import { spawnSync } from 'node:child_process';
import { chmod, lstat, mkdir, readlink, statfs, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixturePartitionBackup, projectRoot, tempDir, treeOf } from '../support/fixtures.js';
import { mountTmpfs, mountUnavailable, remountReadOnly, unmountAll } from '../support/mounts.js';
import { messageOf, runRestore } from '../support/run-restore.js';
import { writeFilesystemBackup } from '../../src/demo/filesystem-backup-writer.js';

/**
 * The local disk fails: full, read-only, not ours to write, or not what it seems (symlinks). Each
 * ends with a message that names the path (exit 7, or 3 for the guard) and the disk as found.
 */

const backupId = 7070n;
/** A filesystem store with partition 1 (about 6 MiB of Zeebe 8.5.4's files), readable by anyone. */
let store: string;

beforeAll(async () => {
  const work = await tempDir();
  await chmod(work, 0o755);
  store = join(work, 'backups');
  await writeFilesystemBackup(store, await fixturePartitionBackup(backupId));
});

afterEach(unmountAll);
afterAll(unmountAll);

const envFor = (data: string) => ({
  ZEEBE_BROKER_DATA_DIRECTORY: data,
  ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM',
  ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: store,
});

/** A work directory anyone may enter, so the agent can also run as an unprivileged user. */
async function workDir(): Promise<string> {
  const work = await tempDir();
  await chmod(work, 0o755);
  return work;
}

async function restore(work: string, data: string, options: { uid?: number; gid?: number } = {}) {
  return runRestore([`--backupId=${backupId}`], { cwd: work, env: envFor(data), ...options });
}

const escaped = (path: string) => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.skipIf(mountUnavailable !== undefined)('a data directory on a volume that fails', () => {
  if (mountUnavailable) console.log(`Skipping the disk-full and read-only tests: ${mountUnavailable}`);

  it('is full: exit 7 naming the path, and the volume as found (space and all)', async () => {
    const work = await workDir();
    const data = join(work, 'data');
    await mkdir(data);
    mountTmpfs(data, '2m');
    await mkdir(join(data, 'lost+found'));
    const before = await treeOf(data);
    const freeBefore = (await statfs(data)).bfree;

    const run = await restore(work, data);
    expect(run.code, run.stdout + run.stderr).toBe(7);
    expect(run.stderr).toMatch(new RegExp(escaped(data)));
    expect(run.stderr).toMatch(/file system is full|not enough (free )?space|ENOSPC/i);
    expect(await treeOf(data)).toEqual(before);
    expect((await statfs(data)).bfree).toBe(freeBefore);
  });

  it('is mounted read-only: exit 7 naming the path', async () => {
    const work = await workDir();
    const data = join(work, 'data');
    await mkdir(data);
    mountTmpfs(data, '8m');
    await mkdir(join(data, 'lost+found'));
    remountReadOnly(data);
    const before = await treeOf(work);

    const run = await restore(work, data);
    expect(run.code, run.stdout + run.stderr).toBe(7);
    expect(run.stderr).toMatch(new RegExp(escaped(data)));
    expect(run.stderr).toMatch(/read-only/);
    expect(await treeOf(work)).toEqual(before);
  });

  it('has a read-only parent, so the data directory cannot be created: exit 7 naming it', async () => {
    const work = await workDir();
    const volume = join(work, 'volume');
    await mkdir(volume);
    mountTmpfs(volume, '1m');
    remountReadOnly(volume);
    const data = join(volume, 'zeebe/data');

    const run = await restore(work, data);
    expect(run.code, run.stdout + run.stderr).toBe(7);
    expect(run.stderr).toMatch(new RegExp(escaped(join(volume, 'zeebe'))));
    expect(run.stderr).toMatch(/read-only/);
    expect(await treeOf(volume)).toEqual({});
  });
});

const nobody = { uid: 65534, gid: 65534 };

/** A checkout below a private directory (a 0700 home or mktemp dir) cannot run as another user. */
const unprivilegedUnavailable: string | undefined = (() => {
  const run = spawnSync(join(projectRoot, 'bin/restore'), ['--version'], { ...nobody, encoding: 'utf8' });
  return run.status === 0 ? undefined : `uid ${nobody.uid} cannot run ${projectRoot}bin/restore (${run.error?.message ?? run.stderr.trim()})`;
})();

/** A restore as the unprivileged user: exit 7 naming the data directory, and the node as it was found. */
async function expectPermissionDenied(work: string, data: string, before: Record<string, string>): Promise<void> {
  const run = await restore(work, data, nobody);
  expect(run.code, run.stdout + run.stderr).toBe(7);
  expect(run.stderr).toMatch(new RegExp(escaped(data)));
  expect(run.stderr).toMatch(/permission denied/i);
  expect(await treeOf(work)).toEqual(before);
}

describe.skipIf(unprivilegedUnavailable !== undefined)('permissions', () => {
  if (unprivilegedUnavailable) console.log(`Skipping the permission tests: ${unprivilegedUnavailable}`);

  it('a data directory the agent may not write to: exit 7 naming the path', async () => {
    const work = await workDir();
    const data = join(work, 'data');
    await mkdir(data, { mode: 0o755 });
    const before = await treeOf(work);

    await expectPermissionDenied(work, data, before);
  });

  it('a data directory that does not exist below a directory the agent may not write to: exit 7 naming it', async () => {
    const work = await workDir();
    const parent = join(work, 'zeebe');
    await mkdir(parent, { mode: 0o755 });
    const data = join(parent, 'data');
    const before = await treeOf(work);

    await expectPermissionDenied(work, data, before);
  });

  it('works as an unprivileged user that owns the data directory', async () => {
    const work = await workDir();
    const data = join(work, 'data');
    await mkdir(data, { mode: 0o755 });
    const { chown } = await import('node:fs/promises');
    await chown(data, nobody.uid, nobody.gid);

    const run = await restore(work, data, nobody);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(messageOf(run.lastLine)).toBe(`Successfully restored broker from backup ${backupId}`);
    expect((await lstat(join(data, 'raft-partition/partitions/1'))).uid).toBe(nobody.uid);
  });
});

describe('symbolic links', () => {
  it('a data directory that is a symlink to an empty directory is restored into its target', async () => {
    const work = await workDir();
    const target = join(work, 'volume/data');
    await mkdir(target, { recursive: true });
    const data = join(work, 'data');
    await symlink(target, data);

    const run = await restore(work, data);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect((await lstat(data)).isSymbolicLink()).toBe(true);
    expect(await readlink(data)).toBe(target);
    expect(Object.keys(await treeOf(join(target, 'raft-partition/partitions/1')))).toContain('raft-partition-partition-1-1.log');
  });

  it('a dangling symlink as the data directory: a message that names it and says what it is', async () => {
    const work = await workDir();
    const data = join(work, 'data');
    await symlink(join(work, 'not-mounted/data'), data);
    const before = await treeOf(work);

    const run = await restore(work, data);
    expect(run.code, run.stdout + run.stderr).toBe(7);
    expect(run.stderr).toMatch(new RegExp(escaped(data)));
    expect(run.stderr).toMatch(/symbolic link|symlink/i);
    expect(run.stderr).toContain(join(work, 'not-mounted/data'));
    expect(await treeOf(work)).toEqual(before);
  });

  it('a data directory holding a symlink: the guard refuses it (exit 3)', async () => {
    const work = await workDir();
    const data = join(work, 'data');
    await mkdir(join(work, 'elsewhere'), { recursive: true });
    await mkdir(data);
    await symlink(join(work, 'elsewhere'), join(data, 'raft-partition'));
    const before = await treeOf(work);

    const run = await restore(work, data);
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(run.stderr).toMatch(/is not empty.*It contains: raft-partition/);
    expect(await treeOf(work)).toEqual(before);
  });

  it('a symlink planted as the staging directory: nothing is written, moved or removed through it', async () => {
    const work = await workDir();
    const data = join(work, 'data');
    // Looks like the staging area of a crashed run: an owner that is gone and restored partitions.
    const elsewhere = join(work, 'elsewhere');
    await mkdir(join(elsewhere, 'raft-partition/partitions/1'), { recursive: true });
    await writeFile(join(elsewhere, 'raft-partition/partitions/1/precious'), 'do not touch');
    await writeFile(join(elsewhere, 'owner.json'), JSON.stringify({ pid: 2 ** 22 + 1, hostname: hostname(), backupId: String(backupId), startedAt: '2026-01-01T00:00:00Z' }));
    await mkdir(data);
    await symlink(elsewhere, join(data, '.zeebe-restore-staging'));
    const target = await treeOf(elsewhere);

    const run = await restore(work, data);
    expect(await treeOf(elsewhere)).toEqual(target);
    if (run.code === 0) {
      // Treated as a leftover: the link alone is removed, and the restore is the backup's.
      expect(Object.keys(await treeOf(data))).not.toContain('.zeebe-restore-staging');
      expect(Object.keys(await treeOf(join(data, 'raft-partition/partitions/1')))).toContain('raft-partition-partition-1-1.log');
    } else {
      expect(run.stderr).toContain('.zeebe-restore-staging');
    }
  });
});
