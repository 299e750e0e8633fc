import type { Readable } from 'node:stream';
import type { BackupManifest } from '../manifest/manifest.js';

/** Where one manifest lives in a store. */
export interface ManifestRef {
  partitionId: number;
  checkpointId: bigint;
  nodeId: number;
  /** The node component of the key as written (`2`, or in future `<zone>_2`). */
  nodeSegment: string;
  /** Store-specific key or path of the manifest, for messages and for finding its files. */
  location: string;
}

/** One node's copy of one partition's backup: where its manifest is and what it says. */
export interface BackupCopy {
  ref: ManifestRef;
  manifest: BackupManifest;
}

export type BackupFileKind = 'snapshot' | 'segments';

/** Bytes `start` up to, not including, `end` of a stored file. */
export interface ByteRange {
  start: number;
  end: number;
}

/** One per-partition backup metadata file (Zeebe 8.9+, `[base/]metadata/<P>/…json`), unparsed. */
export interface PartitionMetadataFile {
  /** Store-specific key or path, for messages. */
  location: string;
  text: string;
}

/**
 * The small surface the restore needs from a backup store. Each store (filesystem, S3, GCS,
 * Azure) implements it in one file; everything else is store-agnostic.
 */
export interface BackupStore {
  /** Human-readable description for logs, e.g. `filesystem store /mnt/backups`. Never secrets. */
  readonly description: string;
  /** How many file transfers this store serves well at once. */
  readonly maxConcurrentTransfers: number;
  /**
   * Files are read whole, never in parts: the store checks each file's checksum as it is read
   * (an archive, against its index).
   */
  readonly readsWholeFiles?: boolean;
  /** All manifests of exactly this partition (and backup id, if given), from any node. */
  listManifests(partitionId: number, checkpointId?: bigint): Promise<ManifestRef[]>;
  /** Reads and parses one manifest; its id must match the ref. */
  readManifest(ref: ManifestRef): Promise<BackupManifest>;
  /**
   * A stream of one file's stored bytes (still compressed if the manifest says so), or of the bytes
   * in `range`: several ranges of one large file download side by side, over several connections.
   */
  openFile(copy: BackupCopy, kind: BackupFileKind, fileName: string, signal?: AbortSignal, range?: ByteRange): Promise<Readable>;
  /**
   * The first `length` stored bytes of a file (still compressed if the manifest says so; fewer if
   * the file is shorter), in one small ranged request: enough to tell where a log segment starts.
   */
  readFileHead(copy: BackupCopy, kind: BackupFileKind, fileName: string, length: number, signal?: AbortSignal): Promise<Buffer>;
  /**
   * Every JSON file below `[base/]metadata/<partitionId>/`: the checkpoint and backup-range
   * metadata 8.9+ brokers keep per partition (continuous backups). None when the store holds none.
   * Optional: a store without it makes `--from/--to` fall back to reading every manifest.
   */
  readPartitionMetadata?(partitionId: number): Promise<PartitionMetadataFile[]>;
  /** Stored size in bytes, where the store knows it cheaply. */
  fileSize(copy: BackupCopy, kind: BackupFileKind, fileName: string): Promise<number | undefined>;
  /**
   * For stores whose files are regular files on a mounted file system: copies the stored file over
   * `destination`, an empty file the caller created, inside the kernel, so its bytes never pass
   * through this process. Returns false, having written nothing, when this file cannot be copied
   * that way (it is not a regular file); the caller then streams it.
   */
  copyToLocalFile?(copy: BackupCopy, kind: BackupFileKind, fileName: string, destination: string): Promise<boolean>;
  close(): Promise<void>;
}
