import { type Readable, Transform } from 'node:stream';
import { text } from 'node:stream/consumers';
import { BackupInvalidError } from '../errors.js';
import type { BackupManifest } from '../manifest/manifest.js';
import { manifestTooLargeError, maxManifestBytes, parseManifestFor } from '../manifest/parse-manifest.js';
import type { BackupCopy, BackupFileKind, BackupStore, ByteRange, ManifestRef, PartitionMetadataFile } from './backup-store.js';
import { isPartitionMetadataName, maxPartitionMetadataBytes, partitionMetadataPrefix } from './metadata-layout.js';
import { contentKey, manifestsPrefix, parseManifestKey } from './store-layout.js';
import { readUpTo } from '../util/read-up-to.js';

export interface ObjectStoreOptions {
  /** Objects per listing page; tests use small pages. */
  listPageSize?: number;
  /** How long a download may wait for its next byte before the connection counts as dead: 60 s by default. */
  idleTimeoutMs?: number;
}

const defaultIdleTimeoutMs = 60_000;

/**
 * A store of named objects holding Zeebe's v2 layout below a key prefix: GCS (below `basePath/`)
 * and Azure Blob Storage (a container per cluster). Listing, exact key parsing, manifest reading
 * and content keys are the same for both; a subclass supplies the four SDK calls, each of which
 * reports failures as RestoreErrors naming the object and what to check.
 */
export abstract class ObjectStore implements BackupStore {
  abstract readonly description: string;
  abstract readonly maxConcurrentTransfers: number;

  protected readonly idleTimeoutMs: number;

  /**
   * @param base `''` or the key prefix of the store's objects, ending in `/`.
   */
  protected constructor(
    protected readonly base: string,
    options: ObjectStoreOptions,
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? defaultIdleTimeoutMs;
  }

  /** The full keys below `prefix`, following every page of the listing. */
  protected abstract listKeys(prefix: string): AsyncIterable<string>;
  /** A stream of the object's bytes (or of `range`) that resumes where a broken connection left off. */
  protected abstract download(key: string, signal?: AbortSignal, range?: ByteRange): Promise<Readable>;
  protected abstract sizeOf(key: string): Promise<number | undefined>;
  /** The object's bytes from the first up to `length`, in one ranged request. */
  protected abstract downloadHead(key: string, length: number, signal?: AbortSignal): Promise<Readable>;

  abstract close(): Promise<void>;

  async listManifests(partitionId: number, checkpointId?: bigint): Promise<ManifestRef[]> {
    // The trailing `/` of the prefix keeps partition 1 from matching 11 and backup 7 from 70; the
    // exact parse still decides for every key, and skips content files and anything unknown.
    const refs: ManifestRef[] = [];
    for await (const key of this.listKeys(this.base + manifestsPrefix(partitionId, checkpointId))) {
      const parsed = key.startsWith(this.base) ? parseManifestKey(key.slice(this.base.length), 'v2') : undefined;
      if (parsed?.partitionId === partitionId && (checkpointId === undefined || parsed.checkpointId === checkpointId)) {
        refs.push({ ...parsed, location: key });
      }
    }
    return refs;
  }

  async readManifest(ref: ManifestRef): Promise<BackupManifest> {
    const text = await this.readSmallObject(ref.location, maxManifestBytes, (size) => manifestTooLargeError(ref.location, size));
    return parseManifestFor(text, ref);
  }

  /** 8.9 per-partition backup metadata: every JSON file directly below `metadata/<P>/`. */
  async readPartitionMetadata(partitionId: number): Promise<PartitionMetadataFile[]> {
    const prefix = this.base + partitionMetadataPrefix(partitionId);
    const locations: string[] = [];
    for await (const key of this.listKeys(prefix)) {
      if (key.startsWith(prefix) && isPartitionMetadataName(key.slice(prefix.length))) locations.push(key);
    }
    return Promise.all(
      locations.sort().map(async (location) => ({
        location,
        text: await this.readSmallObject(
          location,
          maxPartitionMetadataBytes,
          (size) => new BackupInvalidError(`Backup metadata ${location} is ${size} bytes long, more than ${maxPartitionMetadataBytes}.`),
        ),
      })),
    );
  }

  openFile(copy: BackupCopy, kind: BackupFileKind, fileName: string, signal?: AbortSignal, range?: ByteRange): Promise<Readable> {
    return this.download(this.contentKeyOf(copy, kind, fileName), signal, range);
  }

  async readFileHead(copy: BackupCopy, kind: BackupFileKind, fileName: string, length: number, signal?: AbortSignal): Promise<Buffer> {
    return readUpTo(await this.downloadHead(this.contentKeyOf(copy, kind, fileName), length, signal), length);
  }

  fileSize(copy: BackupCopy, kind: BackupFileKind, fileName: string): Promise<number | undefined> {
    return this.sizeOf(this.contentKeyOf(copy, kind, fileName));
  }

  /**
   * A small object as text, refused by its size before it costs memory, and read through the
   * resumable download so a connection that breaks mid-body does not fail the restore.
   */
  private async readSmallObject(key: string, maxBytes: number, tooLarge: (size: number) => Error): Promise<string> {
    const size = await this.sizeOf(key);
    if (size !== undefined && size > maxBytes) throw tooLarge(size);
    return text(await this.download(key));
  }

  private contentKeyOf(copy: BackupCopy, kind: BackupFileKind, fileName: string): string {
    const { partitionId, checkpointId, nodeSegment } = copy.ref;
    return this.base + contentKey(partitionId, checkpointId, nodeSegment, kind, fileName);
  }
}

/**
 * The bytes of an SDK's response body, failing when none arrive for `idleMs` while the consumer
 * is ready for more. Neither SDK notices every dead connection: GCS's HTTP layer (node-fetch 2)
 * never ends a body whose connection closed early, and nothing times out a connection that
 * silently stops. The failure is a plain error, so the resumable download continues from the
 * last byte. `mapError` classifies the source's own errors.
 */
export function watchedBody(source: Readable, idleMs: number, mapError: (error: Error) => Error = (error) => error): Readable {
  let lastData = Date.now();
  const body = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _encoding, done) {
      lastData = Date.now();
      done(null, chunk);
    },
  });
  const watch = setInterval(() => {
    // A full buffer means the consumer is slow, not the network.
    if (body.readableLength < body.readableHighWaterMark && Date.now() - lastData > idleMs) {
      body.destroy(new Error(`no data arrived for ${idleMs / 1000} s`));
    }
  }, Math.min(1000, idleMs / 4));
  watch.unref();
  body.once('close', () => {
    clearInterval(watch);
    source.destroy();
  });
  source.once('error', (error) => body.destroy(mapError(error)));
  return source.pipe(body);
}
