import { BackupInvalidError, BackupNotFoundError } from '../errors.js';
import type { BackupManifest } from '../manifest/manifest.js';
import type { BackupStore, ManifestRef } from '../store/backup-store.js';
import { createLimiter } from '../util/concurrency.js';
import { type BackupStatus, backupStatus } from './backup-status.js';

/** Manifest reads at once while surveying a store; listing many backups reads many small objects. */
const manifestReadConcurrency = 16;

/**
 * What the store holds, backup by backup, in the shape of the management API: `list`, `describe`
 * and `--backupId=latest` work from the store alone, while the cluster is down.
 */
export async function describeBackup(store: BackupStore, partitionCount: number, backupId: bigint): Promise<BackupStatus> {
  const refs = await Promise.all(partitionIds(partitionCount).map((p) => store.listManifests(p, backupId)));
  const [status] = await statusesOf(store, partitionCount, refs.flat());
  return status ?? backupStatus(backupId, new Map(partitionIds(partitionCount).map((p) => [p, []])));
}

/** Every backup with a manifest for some partition, oldest id first; `idPrefix` as in `10*`. */
export async function listBackups(store: BackupStore, partitionCount: number, idPrefix = ''): Promise<BackupStatus[]> {
  const refs = await Promise.all(partitionIds(partitionCount).map((p) => store.listManifests(p)));
  const matching = refs.flat().filter((ref) => ref.checkpointId.toString().startsWith(idPrefix));
  return statusesOf(store, partitionCount, matching);
}

/** `--backupId=latest`: the highest backup id that is COMPLETED for every partition. */
export async function latestCompletedBackup(store: BackupStore, partitionCount: number): Promise<bigint> {
  const completed = (await listBackups(store, partitionCount)).filter((status) => status.state === 'COMPLETED');
  const latest = completed[completed.length - 1];
  if (!latest) {
    throw new BackupNotFoundError(
      `--backupId=latest: the ${store.description} holds no backup that is completed for all ${partitionCount} partitions.`,
    );
  }
  return latest.backupId;
}

async function statusesOf(store: BackupStore, partitionCount: number, refs: ManifestRef[]): Promise<BackupStatus[]> {
  const limit = createLimiter(manifestReadConcurrency, new AbortController().signal);
  const manifests = await Promise.all(refs.map((ref) => limit(() => readForSurvey(store, ref))));
  const byBackup = new Map<bigint, Map<number, BackupManifest[]>>();
  for (const manifest of manifests) {
    if (manifest.partitionId > partitionCount) continue;
    const partitions =
      byBackup.get(manifest.checkpointId) ?? new Map(partitionIds(partitionCount).map((p) => [p, [] as BackupManifest[]]));
    byBackup.set(manifest.checkpointId, partitions);
    partitions.get(manifest.partitionId)!.push(manifest);
  }
  return [...byBackup.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([backupId, partitions]) => backupStatus(backupId, partitions));
}

/** A manifest that cannot be read is reported as a failed copy, not as a reason to stop the survey. */
async function readForSurvey(store: BackupStore, ref: ManifestRef): Promise<BackupManifest> {
  try {
    return await store.readManifest(ref);
  } catch (error) {
    if (!(error instanceof BackupInvalidError)) throw error;
    return {
      nodeId: ref.nodeId,
      partitionId: ref.partitionId,
      checkpointId: ref.checkpointId,
      status: 'FAILED',
      failureReason: error.message,
      snapshotFiles: [],
      segmentFiles: [],
    };
  }
}

function partitionIds(partitionCount: number): number[] {
  return Array.from({ length: partitionCount }, (_, i) => i + 1);
}
