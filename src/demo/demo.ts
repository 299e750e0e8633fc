import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBytes } from '../util/format.js';
import { writeFilesystemBackup } from './filesystem-backup-writer.js';
import { generatePartitionData } from './synthetic-partition.js';

/**
 * `npm run demo`: prepares a 3-node, 3-partition cluster backup (replication factor 3) in a
 * filesystem store, as brokers would have written it, then runs `bin/restore` for every node
 * with that node's own broker configuration, and shows what an operator sees.
 */
const clusterSize = 3;
const partitionCount = 3;
const backupId = 1763683200000n;
const restoreCommand = fileURLToPath(new URL('../../bin/restore', import.meta.url));

const root = process.argv[2] ?? join(tmpdir(), 'zeebe-restore-demo');
const store = join(root, 'backup-store');

await rm(root, { recursive: true, force: true });
console.log(`Preparing backup ${backupId} of a ${clusterSize}-node cluster with ${partitionCount} partitions in ${store}`);
for (let partitionId = 1; partitionId <= partitionCount; partitionId++) {
  const generated = join(root, 'generated', String(partitionId));
  const data = await generatePartitionData({
    directory: generated,
    partitionId,
    journalBytes: 24 * 1024 * 1024,
    maxSegmentSize: 4 * 1024 * 1024,
    snapshotBytes: 12 * 1024 * 1024,
    seed: partitionId,
    // Replication factor 3 on 3 nodes: every node is a member of every partition.
    members: [0, 1, 2],
  });
  const leader = (partitionId - 1) % clusterSize;
  const descriptor = {
    snapshotId: data.snapshotId,
    checkpointPosition: data.checkpointPosition,
    numberOfPartitions: partitionCount,
    brokerVersion: '8.5.4',
  };
  if (partitionId === 2) {
    // Leadership moved during the backup: the old leader's attempt failed, the new one completed.
    await writeFilesystemBackup(store, {
      partitionId,
      checkpointId: backupId,
      nodeId: (leader + 2) % clusterSize,
      status: 'FAILED',
      failureReason: 'Backup was interrupted because the broker is no longer leader of the partition',
      segmentFiles: [],
    });
  }
  await writeFilesystemBackup(store, {
    partitionId,
    checkpointId: backupId,
    nodeId: leader,
    descriptor,
    snapshotFiles: data.snapshotFiles,
    segmentFiles: data.segmentFiles,
  });
  console.log(
    `  partition ${partitionId}: node ${leader}'s copy, snapshot ${data.snapshotId}, ` +
      `${data.segmentFiles.length} segments, checkpoint position ${data.checkpointPosition}`,
  );
}
await rm(join(root, 'generated'), { recursive: true });

for (let nodeId = 0; nodeId < clusterSize; nodeId++) {
  const home = join(root, `zeebe-${nodeId}`);
  await mkdir(join(home, 'config'), { recursive: true });
  // Each node's broker configuration, as it sits in the Zeebe distribution.
  await writeFile(
    join(home, 'config/application.yaml'),
    `zeebe:
  broker:
    cluster:
      nodeId: ${nodeId}
      clusterSize: ${clusterSize}
      partitionsCount: ${partitionCount}
      replicationFactor: 3
    data:
      directory: data
      backup:
        store: FILESYSTEM
        filesystem:
          basePath: ${store}
`,
  );
  console.log(`\n$ cd ${home} && bin/restore --backupId=${backupId}`);
  const code = await run(restoreCommand, [`--backupId=${backupId}`], home);
  console.log(`(exit code ${code})`);
  if (code !== 0) process.exit(code);
}

const partitionOne = join(root, 'zeebe-0/data/raft-partition/partitions/1');
console.log(`\nPartition 1 as node 0's broker will find it (${partitionOne}):`);
for (const line of await tree(partitionOne)) console.log(`  ${line}`);
console.log(`\nEverything is under ${root}; remove it when done.`);

function run(command: string, args: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: 'inherit', env: { PATH: process.env.PATH ?? '' } });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function tree(directory: string, base = directory): Promise<string[]> {
  const lines: string[] = [];
  for (const name of (await readdir(directory)).sort()) {
    const path = join(directory, name);
    const info = await stat(path);
    if (info.isDirectory()) {
      lines.push(`${relative(base, path)}/`);
      lines.push(...(await tree(path, base)));
    } else {
      lines.push(`${relative(base, path)}  ${formatBytes(info.size)}`);
    }
  }
  return lines;
}
