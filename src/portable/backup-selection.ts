import { basename } from 'node:path';
import type { RestoreConfig } from '../config/restore-config.js';
import { BackupInvalidError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { BackupFile } from '../manifest/manifest.js';
import { findCompletedCopy } from '../restore/find-backup.js';
import { planCopy } from '../restore/validate-copy.js';
import type { BackupCopy, BackupFileKind, BackupStore } from '../store/backup-store.js';
import { partitionMetadataPrefix } from '../store/metadata-layout.js';

/** What of one backup an export or a copy takes along. */
export interface BackupSelection {
  backupId: bigint;
  /** Copies taken with their files: a completed one per partition, or every completed one. */
  copies: BackupCopy[];
  /** With every copy: the manifests of those that are not completed (failed, in progress, deleted), which have no files to take. */
  manifestsOnly: BackupCopy[];
  /** The 8.9 per-partition metadata, keyed `metadata/<P>/<name>`. */
  metadata: { key: string; text: string }[];
}

/**
 * Every partition of the cluster must have a completed copy that a restore would accept (the
 * partition count matching, when validateConfig is on), as a restore requires; otherwise the
 * export or copy stops before it writes anything.
 */
export async function selectBackup(
  store: BackupStore,
  config: RestoreConfig,
  backupId: bigint,
  { allCopies, metadata }: { allCopies: boolean; metadata: boolean },
  log: Logger,
): Promise<BackupSelection> {
  const expected = config.restore.validateConfig ? config.partitionCount : undefined;
  const sound = (copy: BackupCopy) => void planCopy(copy, expected);
  const partitions = Array.from({ length: config.partitionCount }, (_, i) => i + 1);
  const chosen = await Promise.all(partitions.map((partitionId) => findCompletedCopy(store, partitionId, backupId, log, sound)));
  const selection: BackupSelection = { backupId, copies: chosen, manifestsOnly: [], metadata: [] };
  if (allCopies) {
    const others = await Promise.all(partitions.map((partitionId) => otherCopies(store, partitionId, backupId, chosen, log)));
    for (const copy of others.flat()) (copy.manifest.status === 'COMPLETED' ? selection.copies : selection.manifestsOnly).push(copy);
  }
  if (metadata && store.readPartitionMetadata) {
    for (const partitionId of partitions) {
      for (const file of await store.readPartitionMetadata(partitionId)) {
        selection.metadata.push({ key: `${partitionMetadataPrefix(partitionId)}${basename(file.location)}`, text: file.text });
      }
    }
  }
  return selection;
}

/** The other nodes' copies of a partition's backup; completed ones that a restore would refuse are left out, with a warning. */
async function otherCopies(store: BackupStore, partitionId: number, backupId: bigint, chosen: BackupCopy[], log: Logger): Promise<BackupCopy[]> {
  const refs = (await store.listManifests(partitionId, backupId)).filter((ref) => !chosen.some((copy) => copy.ref.location === ref.location));
  const copies: BackupCopy[] = [];
  for (const ref of refs) {
    try {
      const copy = { ref, manifest: await store.readManifest(ref) };
      if (copy.manifest.status === 'COMPLETED') planCopy(copy, undefined);
      copies.push(copy);
    } catch (error) {
      if (!(error instanceof BackupInvalidError)) throw error;
      log.warn(`Partition ${partitionId}: leaving out node ${ref.nodeId}'s copy: ${error.message}`);
    }
  }
  return copies;
}

/** Every file a copy's manifest lists, with the kind of path it lives under. */
export function filesOfCopy(copy: BackupCopy): { kind: BackupFileKind; file: BackupFile }[] {
  return [
    ...copy.manifest.snapshotFiles.map((file) => ({ kind: 'snapshot' as const, file })),
    ...copy.manifest.segmentFiles.map((file) => ({ kind: 'segments' as const, file })),
  ];
}
