import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { BackupInvalidError } from '../errors.js';
import type { BackupManifest } from '../manifest/manifest.js';
import { manifestTooLargeError, maxManifestBytes, parseManifestFor } from '../manifest/parse-manifest.js';
import type { BackupCopy, BackupFileKind, BackupStore, ByteRange, ManifestRef, PartitionMetadataFile } from './backup-store.js';
import { isPartitionMetadataName, maxPartitionMetadataBytes, partitionMetadataPrefix } from './metadata-layout.js';
import type { ManifestDialect } from '../manifest/write-manifest.js';
import type { ObjectBackend } from './object-backend.js';
import { contentKey, type Layout, layoutOfBroker, manifestKey, manifestsPrefix, parseManifestKey } from './store-layout.js';

/**
 * How a store's brokers write: the layouts it may hold, the one brokers write today first, and its
 * manifest dialect. S3 holds both v2 and legacy (per backup, by the broker version in its
 * manifest) and writes S3 manifests, which record each file's compression; every other store
 * holds v2 and common manifests of raw files.
 */
export interface StoreConventions {
  layouts: readonly Layout[];
  dialect: 's3' | 'common';
}

export const commonConventions: StoreConventions = { layouts: ['v2'], dialect: 'common' };

/** Where and how a backup is written into a store, so its brokers take it for their own. */
export interface Placement {
  layout: Layout;
  dialect: ManifestDialect;
}

/**
 * Zeebe's backups on any object backend: where manifests and files of each layout are, exact
 * listing and id parsing, reading and checking manifests and the 8.9 per-partition metadata. The
 * backend only moves bytes.
 */
export class ZeebeLayoutStore implements BackupStore {
  readonly description: string;
  readonly maxConcurrentTransfers: number;
  readonly readsWholeFiles: boolean;
  copyToLocalFile?: BackupStore['copyToLocalFile'];

  private readonly layouts: readonly Layout[];
  /** Backups are not changed once complete: a directory's sizes are listed once per run. */
  private readonly listedSizes = new Map<string, Promise<Map<string, number>>>();

  constructor(
    private readonly objects: ObjectBackend,
    private readonly conventions: StoreConventions = commonConventions,
  ) {
    this.layouts = conventions.layouts;
    this.description = objects.description;
    this.maxConcurrentTransfers = objects.maxConcurrentTransfers;
    this.readsWholeFiles = objects.readsWholeFiles ?? false;
    const copyToLocalFile = objects.copyToLocalFile?.bind(objects);
    if (copyToLocalFile) {
      this.copyToLocalFile = (copy, kind, fileName, destination) => copyToLocalFile(this.contentKeyOf(copy, kind, fileName), destination);
    }
  }

  async listManifests(partitionId: number, checkpointId?: bigint): Promise<ManifestRef[]> {
    const found = await Promise.all(this.layouts.map((layout) => this.listManifestsIn(layout, partitionId, checkpointId)));
    return found.flat();
  }

  async readManifest(ref: ManifestRef): Promise<BackupManifest> {
    const key = manifestKey(ref.partitionId, ref.checkpointId, ref.nodeSegment, this.layoutOfManifest(ref));
    const body = await this.objects.read(key, {
      checkSize: (size) => {
        if (size > maxManifestBytes) throw manifestTooLargeError(ref.location, size);
      },
    });
    return parseManifestFor(await textOf(body), ref);
  }

  /** 8.9 per-partition backup metadata: every JSON file directly below `metadata/<P>/` (v2 layout only). */
  async readPartitionMetadata(partitionId: number): Promise<PartitionMetadataFile[]> {
    const prefix = partitionMetadataPrefix(partitionId);
    const keys: string[] = [];
    for await (const { key } of this.objects.list(prefix)) {
      if (key.startsWith(prefix) && isPartitionMetadataName(key.slice(prefix.length))) keys.push(key);
    }
    return Promise.all(
      keys.sort().map(async (key) => {
        const location = this.objects.locationOf(key);
        const body = await this.objects.read(key, {
          checkSize: (size) => {
            if (size > maxPartitionMetadataBytes) {
              throw new BackupInvalidError(`Backup metadata ${location} is ${size} bytes long, more than ${maxPartitionMetadataBytes}.`);
            }
          },
        });
        return { location, text: await textOf(body) };
      }),
    );
  }

  openFile(copy: BackupCopy, kind: BackupFileKind, fileName: string, signal?: AbortSignal, range?: ByteRange): Promise<Readable> {
    return this.objects.read(this.contentKeyOf(copy, kind, fileName), { ...(signal ? { signal } : {}), ...(range ? { range } : {}) });
  }

  readFileHead(copy: BackupCopy, kind: BackupFileKind, fileName: string, length: number, signal?: AbortSignal): Promise<Buffer> {
    return this.objects.readHead(this.contentKeyOf(copy, kind, fileName), length, signal);
  }

  /**
   * From one listing of the file's directory where the store's listings report sizes (S3, GCS,
   * Azure, archives): a request per thousand files rather than one per file. A remote store answers
   * each request after tens of milliseconds, and sizing a snapshot of hundreds of files one request
   * at a time (16 at once) cost a round trip per 16 files before a restore could start.
   * A file the listing does not show, or a listing that fails, is sized by its own request.
   */
  async fileSize(copy: BackupCopy, kind: BackupFileKind, fileName: string): Promise<number | undefined> {
    const listed = (await this.sizesListedBelow(this.contentKeyOf(copy, kind, ''))).get(fileName);
    return listed ?? this.objects.size(this.contentKeyOf(copy, kind, fileName));
  }

  /** Sizes of the objects directly below `prefix` as its listing reports them, listed once per prefix. */
  private sizesListedBelow(prefix: string): Promise<Map<string, number>> {
    let sizes = this.listedSizes.get(prefix);
    if (!sizes) {
      sizes = (async () => {
        const found = new Map<string, number>();
        for await (const { key, size } of this.objects.list(prefix)) {
          const name = key.slice(prefix.length);
          if (key.startsWith(prefix) && size !== undefined && !name.includes('/')) found.set(name, size);
        }
        return found;
      })().catch(() => new Map<string, number>());
      this.listedSizes.set(prefix, sizes);
    }
    return sizes;
  }

  close(): Promise<void> {
    return this.objects.close();
  }

  /** Where a copy's files are: the layout its broker version writes, else the layout its manifest was found in. */
  private contentKeyOf(copy: BackupCopy, kind: BackupFileKind, fileName: string): string {
    const { partitionId, checkpointId, nodeSegment } = copy.ref;
    const layout = this.layouts.length === 1 ? this.layouts[0]! : (layoutOfBroker(copy.manifest.descriptor?.brokerVersion) ?? this.layoutOfManifest(copy.ref));
    return contentKey(partitionId, checkpointId, nodeSegment, kind, fileName, layout);
  }

  /** A backup of this broker version as the store's brokers write it: S3 by the version, every other store v2 and common. */
  placementOf(brokerVersion: string | undefined): Placement {
    return this.conventions.dialect === 'common' ? { layout: 'v2', dialect: 'common' } : s3PlacementOf(brokerVersion);
  }

  private layoutOfManifest(ref: ManifestRef): Layout {
    const { partitionId, checkpointId, nodeSegment } = ref;
    return this.layouts.find((layout) => this.objects.locationOf(manifestKey(partitionId, checkpointId, nodeSegment, layout)) === ref.location) ?? this.layouts[0]!;
  }

  /** The trailing `/` of the prefix keeps partition 1 from matching 11 and backup 7 from 70; the exact parse decides for every key. */
  private async listManifestsIn(layout: Layout, partitionId: number, checkpointId?: bigint): Promise<ManifestRef[]> {
    const refs: ManifestRef[] = [];
    for await (const { key } of this.objects.list(manifestsPrefix(partitionId, checkpointId, layout))) {
      const parsed = parseManifestKey(key, layout);
      if (parsed?.partitionId === partitionId && (checkpointId === undefined || parsed.checkpointId === checkpointId)) {
        refs.push({ ...parsed, location: this.objects.locationOf(key) });
      }
    }
    return refs;
  }
}

/** UTF-8 as written: a byte-order mark stays, and JSON parsing refuses it as the broker's parser would. */
async function textOf(body: Readable): Promise<string> {
  return (await buffer(body)).toString('utf8');
}

/** Where and how a broker of this version writes a backup into S3 (backup-store-format.md §1, §2.1). */
export function s3PlacementOf(brokerVersion: string | undefined): Placement {
  const layout = layoutOfBroker(brokerVersion) ?? 'v2';
  return { layout, dialect: layout === 'v2' ? 's3-iso' : 's3-epoch-seconds' };
}
