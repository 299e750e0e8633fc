import type { BackupDescriptor, BackupFile, BackupManifest, BackupStatus } from '../manifest/manifest.js';
import { manifestJson } from '../manifest/write-manifest.js';
import { contentKey, manifestKey } from '../store/store-layout.js';

/**
 * One partition's backup as Zeebe's GCS, Azure and FILESYSTEM stores write it: the common
 * manifest dialect (backup-store-format.md §2.2) and the v2 layout. The demo and the tests use it
 * to prepare stores; the restore itself never writes to a store.
 */
export interface PartitionBackup {
  partitionId: number;
  checkpointId: bigint;
  nodeId: number;
  status?: BackupStatus;
  failureReason?: string;
  /**
   * Absent only for a backup that failed before it started: Zeebe's `Manifest.createFailed`
   * writes such a manifest without descriptor, snapshot and segments.
   */
  descriptor?: BackupDescriptor;
  /** The snapshot's files, including its `.checksum` file. */
  snapshotFiles?: SourceFile[];
  /** The journal segment files. */
  segmentFiles: SourceFile[];
  createdAt?: string;
}

/** A file to put into the backup under `name`, copied from `source`. */
export interface SourceFile {
  name: string;
  source: string;
}

/** One object of a backup, keyed relative to the store's base path: a file's bytes or the manifest. */
export type BackupObject = { key: string; source: string } | { key: string; text: string };

/** The manifest's JSON: absent values are omitted, never null; the status is upper case. */
export function commonManifestJson(backup: PartitionBackup): string {
  return manifestJson(manifestOf(backup), 'common');
}

/** The backup's manifest as brokers record it; both timestamps are `createdAt`, or now. */
export function manifestOf(backup: PartitionBackup, compressed: ReadonlyMap<string, string> = new Map()): BackupManifest {
  const { partitionId, checkpointId, nodeId, descriptor } = backup;
  const createdAt = backup.createdAt ?? new Date().toISOString();
  const files = (list: SourceFile[]) => list.map(({ name }): BackupFile => (compressed.has(name) ? { name, compression: compressed.get(name)! } : { name }));
  return {
    partitionId,
    checkpointId,
    nodeId,
    status: backup.status ?? 'COMPLETED',
    ...(backup.failureReason ? { failureReason: backup.failureReason } : {}),
    ...(descriptor ? { descriptor } : {}),
    snapshotFiles: files(backup.snapshotFiles ?? []),
    segmentFiles: files(backup.segmentFiles),
    createdAt,
    modifiedAt: createdAt,
  };
}

/**
 * Stores one partition's backup through `put`, which writes one object to the store: the files
 * under `contents/P/C/N/snapshot|segments/<name>`, then the manifest under
 * `manifests/P/C/N/manifest.json`, as the broker finishes a backup.
 */
export async function writeCommonBackup(backup: PartitionBackup, put: (object: BackupObject) => Promise<void>): Promise<void> {
  const { partitionId, checkpointId, nodeId } = backup;
  const node = String(nodeId);
  const putAll = (kind: 'snapshot' | 'segments', files: SourceFile[]) =>
    Promise.all(files.map(({ name, source }) => put({ key: contentKey(partitionId, checkpointId, node, kind, name), source })));
  await putAll('snapshot', backup.snapshotFiles ?? []);
  await putAll('segments', backup.segmentFiles);
  await put({ key: manifestKey(partitionId, checkpointId, node), text: commonManifestJson(backup) });
}
