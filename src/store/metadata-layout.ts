/**
 * Where Zeebe 8.9+ brokers keep each partition's backup metadata (checkpoints and backup ranges of
 * continuous backups), relative to the store's base path: `metadata/<P>/metadata.json` in the
 * builds we found, and slot files (`a`/`b` with a sequence number) in later ones. Every JSON file
 * directly below the partition's prefix is read; the newest valid one wins.
 */
export function partitionMetadataPrefix(partitionId: number): string {
  return `metadata/${partitionId}/`;
}

/** A metadata file's name below its partition's prefix: a JSON file, not in a subdirectory. */
export function isPartitionMetadataName(name: string): boolean {
  return /^[^/]+\.json$/.test(name);
}

/** Metadata files are small (a few entries per backup); anything larger is broken or hostile. */
export const maxPartitionMetadataBytes = 64 * 1024 * 1024;
