import type { Readable } from 'node:stream';
import type { ByteRange } from './backup-store.js';

export interface ObjectReadOptions {
  signal?: AbortSignal;
  /** Only these bytes of the object. */
  range?: ByteRange;
  /**
   * Called with the object's size before any byte is read; what it throws fails the read. Small
   * objects (manifests, metadata) are refused by their size before they cost memory, and on a
   * file system they must be regular files: a FIFO planted in the store must not hang the read.
   */
  checkSize?: (size: number) => void;
}

/** An object a listing found, with its size where the listing reports it (object stores do). */
export interface ListedObject {
  key: string;
  size?: number;
}

/**
 * The small surface every backend offers, in its own terms of keys relative to its base path
 * (compare WAL-G's `storage.Folder`): list, read (whole, a range or the head), size. It knows
 * nothing of Zeebe: the key layouts and manifests live once, above it (ZeebeLayoutStore). Every
 * call reports failures as RestoreErrors naming the object, with the store's exit code, and never
 * a secret; reads are resumable where a network is involved, pinned to one object version.
 */
export interface ObjectBackend {
  /** For logs, e.g. `S3 bucket b under base/ (endpoint …)`. Never secrets. */
  readonly description: string;
  /** How many transfers this backend serves well at once. */
  readonly maxConcurrentTransfers: number;
  /** See BackupStore.readsWholeFiles. */
  readonly readsWholeFiles?: boolean;
  /** How manifest refs and messages name the object under `key`: its full key or path. */
  locationOf(key: string): string;
  /** Every object below `prefix`, following every page of the listing. */
  list(prefix: string): AsyncIterable<ListedObject>;
  /** A stream of the object's bytes, or of `range`, failing with the key when the object does not exist. */
  read(key: string, options?: ObjectReadOptions): Promise<Readable>;
  /** The object's first `length` bytes (fewer if it is shorter), in one small request. */
  readHead(key: string, length: number, signal?: AbortSignal): Promise<Buffer>;
  /** Its size in bytes, where the backend knows it cheaply. */
  size(key: string): Promise<number | undefined>;
  /** See BackupStore.copyToLocalFile: a kernel copy, for backends on a mounted file system. */
  copyToLocalFile?(key: string, destination: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Where objects can be written: a writable backend, or an archive being written. */
export interface ObjectSink {
  /**
   * Stores `body` under `key`, replacing what is there; `size` is its length where known (a
   * decompressed file's is not). The object appears whole or not at all: an interrupted write never
   * leaves a shorter object under the key.
   */
  write(key: string, body: Readable, size: number | undefined, signal?: AbortSignal): Promise<void>;
}

/** A backend a backup can be copied into. */
export interface WritableObjectBackend extends ObjectBackend, ObjectSink {}
