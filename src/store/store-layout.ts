import type { BackupFileKind } from './backup-store.js';

/**
 * Object keys of Zeebe's backup layouts (backup-store-format.md §1), relative to the store's base
 * path: "v2", shared by the filesystem, GCS and Azure stores and by S3 for brokers ≥ 8.9, and S3's
 * "legacy" `P/C/N/…` for brokers ≤ 8.8.
 */
export type Layout = 'legacy' | 'v2';

/** Below this prefix are the manifests of one partition, of one backup if `checkpointId` is given. */
export function manifestsPrefix(partitionId: number, checkpointId?: bigint, layout: Layout = 'v2'): string {
  const partition = `${partitionId}/${checkpointId === undefined ? '' : `${checkpointId}/`}`;
  return layout === 'v2' ? `manifests/${partition}` : partition;
}

export function manifestKey(partitionId: number, checkpointId: bigint, nodeSegment: string, layout: Layout = 'v2'): string {
  return `${manifestsPrefix(partitionId, checkpointId, layout)}${nodeSegment}/manifest.json`;
}

export function contentKey(
  partitionId: number,
  checkpointId: bigint,
  nodeSegment: string,
  kind: BackupFileKind,
  fileName: string,
  layout: Layout = 'v2',
): string {
  return `${layout === 'v2' ? 'contents/' : ''}${partitionId}/${checkpointId}/${nodeSegment}/${kind}/${fileName}`;
}

/** backup-store-format.md §1: S3 keeps a backup of major 8 and minor ≤ 8 in the legacy layout, anything newer in v2. */
export function layoutOfBroker(version: string | undefined): Layout | undefined {
  const match = version === undefined ? null : /^(\d+)\.(\d+)/.exec(version);
  if (!match) return undefined;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major < 8 || (major === 8 && minor <= 8) ? 'legacy' : 'v2';
}

/** The node segment may carry a zone prefix in future (`<zone>_<N>`): the trailing number is the id. */
export function nodeIdFromSegment(segment: string): number | undefined {
  const match = /(\d+)$/.exec(segment);
  return match ? Number(match[1]) : undefined;
}

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
