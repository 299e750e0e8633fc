import type { BackupFileKind } from './backup-store.js';

/**
 * Object keys of the "v2" layout shared by the filesystem, GCS and Azure stores and by S3 for
 * brokers ≥ 8.9 (backup-store-format.md §1), relative to the store's base path.
 */
export function manifestsPrefix(partitionId: number, checkpointId: bigint): string {
  return `manifests/${partitionId}/${checkpointId}/`;
}

export function manifestKey(partitionId: number, checkpointId: bigint, nodeSegment: string): string {
  return `${manifestsPrefix(partitionId, checkpointId)}${nodeSegment}/manifest.json`;
}

export function contentKey(
  partitionId: number,
  checkpointId: bigint,
  nodeSegment: string,
  kind: BackupFileKind,
  fileName: string,
): string {
  return `contents/${partitionId}/${checkpointId}/${nodeSegment}/${kind}/${fileName}`;
}

/** The node segment may carry a zone prefix in future (`<zone>_<N>`): the trailing number is the id. */
export function nodeIdFromSegment(segment: string): number | undefined {
  const match = /(\d+)$/.exec(segment);
  return match ? Number(match[1]) : undefined;
}
