import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stitchJournal, type ChainSource } from '../chain/stitch-journal.js';
import { asLocalStorageError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { BackupFile } from '../manifest/manifest.js';
import { verifySnapshot } from '../snapshot/verify-snapshot.js';
import type { BackupFileKind, BackupStore } from '../store/backup-store.js';
import { type Limit, runAll } from '../util/concurrency.js';
import { formatBytes } from '../util/format.js';
import { fsyncDirectory } from '../util/fsync.js';
import type { ExpectedMembers } from '../cluster/partition-layout.js';
import { checkStartup, describeStartup, naming, type PartitionResult, skippedSegmentsNote } from './restore-partition.js';
import { type ChainLink, filesOf, segmentsAfterCheckpointOf } from './restore-plan.js';
import { type FileTransfer, transferFile } from './transfer-file.js';

export interface ChainRestore {
  store: BackupStore;
  expectedMembers: ExpectedMembers;
  /** Oldest first; the first link brings the snapshot. */
  chain: ChainLink[];
  /** `raft-partition/partitions/<p>` inside the staging area. */
  directory: string;
  limit: Limit;
  controller: AbortController;
  log: Logger;
}

/** Each backup's segments are downloaded here, inside the partition directory, and removed once stitched. */
export function chainDownloadDirectory(partitionDirectory: string, backupId: bigint): string {
  return join(partitionDirectory, `.restore-backup-${backupId}`);
}

/**
 * Restores one partition from a chain of backups (Zeebe 8.8+): the first backup's snapshot, and a
 * journal written afresh from the logs of all of them, each up to its checkpoint (see
 * stitchJournal). Later backups' snapshots are not downloaded: Zeebe discards them too.
 */
export async function restoreChain(job: ChainRestore): Promise<PartitionResult> {
  const { store, chain, directory, limit, controller, log, expectedMembers } = job;
  const first = chain[0]!;
  const last = chain.at(-1)!;
  const partitionId = first.copy.ref.partitionId;
  const { snapshotId, checksumFile } = first.plan;
  const snapshotsDirectory = join(directory, 'snapshots');
  const snapshotDirectory = snapshotId ? join(snapshotsDirectory, snapshotId) : undefined;
  const checksumPath = join(snapshotsDirectory, `${snapshotId}.checksum`);
  const downloads = chain.map((link) => chainDownloadDirectory(directory, link.copy.ref.checkpointId));
  for (const path of [snapshotDirectory ?? directory, ...downloads]) {
    await mkdir(path, { recursive: true }).catch((error: unknown) => {
      throw asLocalStorageError(error, 'create', path);
    });
  }

  const transfers: FileTransfer[] = chain.flatMap((link, position) => {
    const destinationOf = (kind: BackupFileKind, file: BackupFile) =>
      kind === 'segments' ? join(downloads[position]!, file.name) : file === checksumFile ? checksumPath : join(snapshotDirectory!, file.name);
    return filesOf(link.plan).map(({ kind, file }) => ({
      copy: link.copy,
      kind,
      file,
      destination: destinationOf(kind, file),
      ...(link.storedSizes.has(file) ? { storedSize: link.storedSizes.get(file)! } : {}),
    }));
  });
  const backups = chain.map((link) => `${link.copy.ref.checkpointId} (node ${link.copy.ref.nodeId})`).join(', ');
  log.info(
    `Partition ${partitionId}: restoring a chain of ${chain.length} backups: ${backups}` +
      (snapshotId ? `; snapshot ${snapshotId} from backup ${first.copy.ref.checkpointId}` : '; no snapshot') +
      `, ${transfers.filter((transfer) => transfer.kind === 'segments').length} log segments, ending at checkpoint position ${last.plan.checkpointPosition}` +
      `${skippedSegmentsNote(segmentsAfterCheckpointOf(chain).length)}.`,
  );
  const sizes = await runAll(
    transfers.map((transfer) => () => transferFile(store, transfer, controller.signal, limit)),
    controller,
  );

  const source = `Partition ${partitionId} (backups ${chain.map((link) => link.copy.ref.checkpointId).join(', ')})`;
  if (snapshotDirectory && checksumFile) {
    await Promise.all([snapshotsDirectory, snapshotDirectory].map(fsyncDirectory));
    await naming(source, () => verifySnapshot(snapshotDirectory, checksumPath, snapshotId!), directory);
  }
  controller.signal.throwIfAborted();
  const sources: ChainSource[] = chain.map((link, position) => ({
    backupId: link.copy.ref.checkpointId,
    nodeId: link.copy.ref.nodeId,
    directory: downloads[position]!,
    checkpointPosition: link.plan.checkpointPosition,
  }));
  const journal = await naming(source, () => stitchJournal(directory, partitionId, sources, { signal: controller.signal }));
  for (const path of downloads) {
    await rm(path, { recursive: true, force: true }).catch((error: unknown) => {
      throw asLocalStorageError(error, 'remove', path);
    });
  }
  await fsyncDirectory(directory);
  const startup = await checkStartup({ partitionId, source, directory, snapshotId, log: journal.log, expectedMembers, logger: log });

  const bytes = sizes.reduce((sum, { bytes: size }) => sum + size, 0);
  log.info(
    `Partition ${partitionId}: restored ${transfers.length} files (${formatBytes(bytes)}) from backups ` +
      `${chain.map((link) => link.copy.ref.checkpointId).join(', ')}, ${snapshotId ? 'snapshot verified, ' : ''}journal rebuilt with ` +
      `${journal.entries} entries (index ${journal.firstIndex} to ${journal.lastIndex}, checkpoint position ${last.plan.checkpointPosition}) ` +
      `in ${journal.segmentFiles.length} segment${journal.segmentFiles.length === 1 ? '' : 's'}; ${describeStartup(startup)}.`,
  );
  return {
    partitionId,
    nodeId: first.copy.ref.nodeId,
    chain: chain.map((link) => ({ backupId: link.copy.ref.checkpointId, nodeId: link.copy.ref.nodeId })),
    files: transfers.length,
    bytes,
    checkpointPosition: last.plan.checkpointPosition,
    checkpointIndex: journal.lastIndex,
    ...(snapshotId ? { snapshotId } : {}),
    ...startup,
  };
}
