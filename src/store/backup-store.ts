import type { Readable } from 'node:stream';
import type { BackupManifest } from '../manifest/manifest.js';

/** Where one manifest lives in a store; `nodeId` comes from the key, the rest is exact. */
export interface ManifestRef {
  partitionId: number;
  checkpointId: bigint;
  nodeId: number;
  /** Store-specific key or path, for messages. */
  location: string;
}

export type BackupFileKind = 'snapshot' | 'segments';

/**
 * The small surface the restore needs from a backup store. Each store (filesystem, S3, GCS,
 * Azure) implements it in one file; everything else is store-agnostic.
 */
export interface BackupStore {
  /** Human-readable description for logs, e.g. `filesystem store /mnt/backups`. Never secrets. */
  readonly description: string;
  /** All manifests for exactly this partition and backup id, from any node. */
  listManifests(partitionId: number, checkpointId: bigint): Promise<ManifestRef[]>;
  /** Reads and parses one manifest. */
  readManifest(ref: ManifestRef): Promise<BackupManifest>;
  /** Opens a stream of one file's stored bytes (still compressed if the manifest says so). */
  openFile(manifest: BackupManifest, kind: BackupFileKind, fileName: string): Promise<Readable>;
  /** Stored size in bytes, where the store knows it cheaply. */
  fileSize(manifest: BackupManifest, kind: BackupFileKind, fileName: string): Promise<number | undefined>;
  close(): Promise<void>;
}
