import type { RestoreConfig } from '../config/restore-config.js';
import type { Logger } from '../log/logger.js';
import type { BackupFile } from '../manifest/manifest.js';
import type { BackupCopy, BackupFileKind, BackupStore } from '../store/backup-store.js';
import { createLimiter } from '../util/concurrency.js';
import { findCompletedCopiesOf } from './find-backup.js';
import { withoutSegmentsAfterCheckpoint } from './segments-after-checkpoint.js';
import { type CopyPlan, planCopy } from './validate-copy.js';

/** Size requests at once while planning; they are small (a stat, a HEAD). */
const sizeLookupConcurrency = 16;

/** One backup of a partition's restore, and what of it to download. */
export interface ChainLink {
  copy: BackupCopy;
  /** The first link's plan holds the snapshot; later links only their log segments. */
  plan: CopyPlan;
  /** Bytes to read from the store (compressed where the backup is); 0 for sizes a store does not know. */
  storedBytes: number;
  /** Each file's stored size, where the store knows it. */
  storedSizes: Map<BackupFile, number>;
}

export interface PartitionPlan {
  partitionId: number;
  /**
   * The backups to restore, oldest first: one for a plain restore; several (Zeebe 8.8+) when the
   * log is stitched from a chain: the first backup's snapshot, then every backup's log.
   */
  chain: ChainLink[];
  storedBytes: number;
}

/**
 * Everything a restore decides before it writes: which copy of each backup of each partition,
 * which files, how many bytes. `restore --dry-run` prints it; the restore follows it.
 * `chains` maps each partition to its backup ids, oldest first.
 */
export async function planPartitions(
  store: BackupStore,
  config: RestoreConfig,
  chains: Map<number, bigint[]>,
  log: Logger,
): Promise<PartitionPlan[]> {
  const expectedPartitions = config.restore.validateConfig ? config.partitionCount : undefined;
  const wanted = [...chains].flatMap(([partitionId, backupIds]) => backupIds.map((backupId) => ({ partitionId, backupId })));
  const found = await findCompletedCopiesOf(store, wanted, log, (copy) => planCopy(copy, expectedPartitions));
  const limit = createLimiter(sizeLookupConcurrency, new AbortController().signal);
  const links = await Promise.all(
    found.map(async ({ copy, checked }, position): Promise<ChainLink> => {
      const first = position === 0 || wanted[position - 1]!.partitionId !== wanted[position]!.partitionId;
      const plan = await withoutSegmentsAfterCheckpoint(store, copy, first ? checked : logOnly(checked));
      const files = filesOf(plan);
      const sizes = await Promise.all(files.map(({ kind, file }) => limit(() => store.fileSize(copy, kind, file.name))));
      const storedSizes = new Map(files.flatMap(({ file }, i) => (sizes[i] === undefined ? [] : [[file, sizes[i]!] as const])));
      return { copy, plan, storedBytes: sizes.reduce<number>((sum, size) => sum + (size ?? 0), 0), storedSizes };
    }),
  );
  return [...chains.keys()].map((partitionId) => {
    const chain = links.filter((link) => link.copy.ref.partitionId === partitionId);
    return { partitionId, chain, storedBytes: chain.reduce((sum, link) => sum + link.storedBytes, 0) };
  });
}

/** A later backup of a chain contributes its log only: Zeebe takes the snapshot of the first. */
function logOnly(plan: CopyPlan): CopyPlan {
  return { checkpointPosition: plan.checkpointPosition, snapshotFiles: [], segmentFiles: plan.segmentFiles };
}

/** Every file a plan downloads, with the kind of store path it lives under. */
export function filesOf(plan: CopyPlan): { kind: BackupFileKind; file: BackupFile }[] {
  return [
    ...plan.segmentFiles.map((file) => ({ kind: 'segments' as const, file })),
    ...[...plan.snapshotFiles, ...(plan.checksumFile ? [plan.checksumFile] : [])].map((file) => ({
      kind: 'snapshot' as const,
      file,
    })),
  ];
}

/** All files of a partition's restore. */
export function filesOfChain(chain: ChainLink[]): { kind: BackupFileKind; file: BackupFile }[] {
  return chain.flatMap((link) => filesOf(link.plan));
}

/** The segments a partition's restore leaves out because they lie after their backup's checkpoint. */
export function segmentsAfterCheckpointOf(chain: ChainLink[]): BackupFile[] {
  return chain.flatMap((link) => link.plan.segmentsAfterCheckpoint ?? []);
}
