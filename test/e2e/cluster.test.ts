import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeClusterBackup } from '../support/fixtures.js';
import { messageOf, runRestore } from '../support/run-restore.js';

async function restoredPartitions(dataDirectory: string): Promise<number[]> {
  const names = await readdir(join(dataDirectory, 'raft-partition/partitions'));
  return names.map(Number).sort((a, b) => a - b);
}

describe('restoring every node of a cluster', () => {
  it('3 nodes, 3 partitions, RF 3, configured through environment variables', async () => {
    const work = await tempDir();
    await writeClusterBackup({ basePath: join(work, 'backups'), backupId: 7n, partitionCount: 3 });
    const runs = await Promise.all(
      [0, 1, 2].map((nodeId) =>
        runRestore(['--backupId=7'], {
          cwd: work,
          env: {
            ZEEBE_BROKER_CLUSTER_NODEID: String(nodeId),
            ZEEBE_BROKER_CLUSTER_CLUSTERSIZE: '3',
            ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: '3',
            ZEEBE_BROKER_CLUSTER_REPLICATIONFACTOR: '3',
            ZEEBE_BROKER_DATA_DIRECTORY: `node-${nodeId}/data`,
            ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM',
            ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: 'backups',
          },
        }),
      ),
    );
    for (const [nodeId, run] of runs.entries()) {
      expect(run.code, run.stderr).toBe(0);
      expect(messageOf(run.lastLine)).toBe('Successfully restored broker from backup 7');
      expect(await restoredPartitions(join(work, `node-${nodeId}/data`))).toEqual([1, 2, 3]);
    }
  });

  it('5 nodes, 4 partitions, RF 3, configured through the 8.8 unified YAML keys', async () => {
    const work = await tempDir();
    await writeClusterBackup({ basePath: join(work, 'backups'), backupId: 42n, partitionCount: 4 });
    const expected: Record<number, number[]> = { 0: [1, 4], 1: [1, 2], 2: [1, 2, 3], 3: [2, 3, 4], 4: [3, 4] };
    const runs = await Promise.all(
      Object.keys(expected).map(async (key) => {
        const nodeId = Number(key);
        const home = join(work, `node-${nodeId}`);
        await mkdir(join(home, 'config'), { recursive: true });
        await writeFile(
          join(home, 'config/application.yaml'),
          [
            'camunda:',
            '  cluster:',
            `    node-id: ${nodeId}`,
            '    size: 5',
            '    partition-count: 4',
            '    replication-factor: 3',
            '  data:',
            '    primary-storage:',
            '      directory: data',
            '    backup:',
            '      store: FILESYSTEM',
            '      filesystem:',
            `        base-path: ${join(work, 'backups')}`,
            '',
          ].join('\n'),
        );
        return [nodeId, await runRestore(['--backupId=42', '--log-format=json'], { cwd: home })] as const;
      }),
    );
    for (const [nodeId, run] of runs) {
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.lastLine)).toMatchObject({
        level: 'INFO',
        message: 'Successfully restored broker from backup 42',
        backupId: '42',
      });
      for (const line of run.stdout.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
      expect(await restoredPartitions(join(work, `node-${nodeId}/data`))).toEqual(expected[nodeId]);
    }
  });
});
