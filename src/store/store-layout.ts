import type { BackupFileKind } from './backup-store.js';

/**
 * Object keys of the "v2" layout shared by the filesystem, GCS and Azure stores and by S3 for
 * brokers ≥ 8.9 (backup-store-format.md §1), relative to the store's base path.
 */
/** Below this prefix are the manifests of one partition, of one backup if `checkpointId` is given. */
export function manifestsPrefix(partitionId: number, checkpointId?: bigint): string {
  return `manifests/${partitionId}/${checkpointId === undefined ? '' : `${checkpointId}/`}`;
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

/** Where a key was found: the v2 layout above, or S3's legacy `P/C/N/…` for brokers ≤ 8.8. */
export type Layout = 'legacy' | 'v2';

const manifestKeyPatterns: Record<Layout, RegExp> = {
  v2: /^manifests\/(\d+)\/(\d+)\/([^/]+)\/manifest\.json$/,
  legacy: /^(\d+)\/(\d+)\/([^/]+)\/manifest\.json$/,
};

export interface ParsedManifestKey {
  partitionId: number;
  checkpointId: bigint;
  nodeId: number;
  nodeSegment: string;
}

/**
 * Reads partition, backup id and node from a manifest key relative to the base path. Listing by
 * prefix also returns content files and, for `P/C`, backups `C0…`: only an exact parse decides.
 */
export function parseManifestKey(key: string, layout: Layout): ParsedManifestKey | undefined {
  const match = manifestKeyPatterns[layout].exec(key);
  if (!match) return undefined;
  const nodeSegment = match[3]!;
  const nodeId = nodeIdFromSegment(nodeSegment);
  if (nodeId === undefined) return undefined;
  return { partitionId: Number(match[1]), checkpointId: BigInt(match[2]!), nodeId, nodeSegment };
}
