import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { decompressionFor } from '../compression/registry.js';
import { BackupInvalidError, RestoreError, StoreUnavailableError, UsageError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { BackupFile, BackupManifest } from '../manifest/manifest.js';
import { manifestJson } from '../manifest/write-manifest.js';
import type { BackupCopy, BackupFileKind, BackupStore } from '../store/backup-store.js';
import type { WritableObjectBackend } from '../store/object-backend.js';
import { contentKey, manifestKey } from '../store/store-layout.js';
import type { ZeebeLayoutStore } from '../store/zeebe-layout-store.js';
import { createLimiter, runAll } from '../util/concurrency.js';
import { Crc32cMeter, formatCrc32c } from '../util/crc32c-meter.js';
import { formatBytes } from '../util/format.js';
import { type BackupSelection, filesOfCopy } from './backup-selection.js';

/** Copies at once: each holds a few MiB of buffers (Azure stages 8 MiB per upload). */
const maxParallelCopies = 8;

/** A store to copy into: its Zeebe conventions, and its objects to write. */
export interface CopyTarget {
  store: ZeebeLayoutStore;
  objects: WritableObjectBackend;
}

interface Written {
  key: string;
  bytes: number;
  crc32c: number;
}

/** A manifest as it is to be written into the target. */
interface ManifestWrite {
  key: string;
  text: Buffer;
}

/**
 * Copies a backup into another store as that store's brokers write it: its key layout and manifest
 * dialect for the backup's broker version (S3: legacy up to 8.8, v2 after; the others v2), files
 * decompressed where the target's manifests cannot record a compression. Every object is read
 * back and compared (size and CRC32C) after it is written. Manifests are written last, once every
 * file of every partition is in place: an interrupted copy leaves files without manifests, which
 * no broker takes for a backup, or some of the manifests, which make an INCOMPLETE backup. Running
 * the copy again completes it; manifests it did not write are never overwritten.
 */
export async function copyBackup(
  source: BackupStore,
  selection: BackupSelection,
  target: CopyTarget,
  { log, signal }: { log: Logger; signal: AbortSignal },
): Promise<{ files: number; bytes: number; manifests: number }> {
  const manifests = [...selection.copies, ...selection.manifestsOnly].map((copy) => manifestWriteOf(target, copy));
  const written = await manifestsWrittenBefore(target, selection, manifests);
  const controller = new AbortController();
  signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  let result = { files: 0, bytes: 0 };
  if (written.size === 0) {
    result = await copyFiles(source, selection, target, log, controller);
  } else if (written.size < manifests.length) {
    // Manifests are written only after every file was written and verified: the files are there.
    log.info(`The ${target.store.description} holds ${written.size} of the ${manifests.length} manifests of an earlier copy of backup ${selection.backupId}; writing the others.`);
  }
  const missing = manifests.filter(({ key }) => !written.has(key));
  for (const manifest of missing) await writeVerified(target, manifest.key, manifest.text, controller.signal);
  return { ...result, manifests: missing.length };
}

async function copyFiles(source: BackupStore, selection: BackupSelection, target: CopyTarget, log: Logger, controller: AbortController) {
  const limit = createLimiter(Math.min(source.maxConcurrentTransfers, target.objects.maxConcurrentTransfers, maxParallelCopies), controller.signal);
  const copied = await runAll(
    selection.copies.map((copy) => async () => {
      const written = await runAll(filesOfCopy(copy).map(({ kind, file }) => () => limit(() => copyFile(source, target, copy, kind, file, controller.signal))), controller);
      const bytes = written.reduce((sum, file) => sum + file.bytes, 0);
      log.info(`Partition ${copy.ref.partitionId}: copied node ${copy.ref.nodeId}'s copy (${written.length} files, ${formatBytes(bytes)}), every file read back and verified.`);
      return { files: written.length, bytes };
    }),
    controller,
  );
  return { files: copied.reduce((sum, c) => sum + c.files, 0), bytes: copied.reduce((sum, c) => sum + c.bytes, 0) };
}

/**
 * The manifests of this backup the target holds already: each must be one this copy writes, with
 * the same bytes (an interrupted earlier copy, or a finished one). Any other may be read by
 * brokers, and nothing of that backup is overwritten.
 */
async function manifestsWrittenBefore(target: CopyTarget, selection: BackupSelection, manifests: ManifestWrite[]): Promise<Set<string>> {
  const partitions = [...new Set(selection.copies.map((copy) => copy.ref.partitionId))];
  const existing = (await Promise.all(partitions.map((partitionId) => target.store.listManifests(partitionId, selection.backupId)))).flat();
  const written = new Set<string>();
  for (const ref of existing) {
    const manifest = manifests.find(({ key }) => target.objects.locationOf(key) === ref.location);
    if (!manifest || !(await buffer(await target.objects.read(manifest.key))).equals(manifest.text)) {
      throw new UsageError(
        `The ${target.store.description} already holds backup ${selection.backupId}, written otherwise (${ref.location}). ` +
          'Copy into another store, or delete the backup there first (through the brokers\' backup API).',
      );
    }
    written.add(manifest.key);
  }
  return written;
}

async function copyFile(source: BackupStore, target: CopyTarget, copy: BackupCopy, kind: BackupFileKind, file: BackupFile, signal: AbortSignal): Promise<Written> {
  const { partitionId, checkpointId, nodeSegment } = copy.ref;
  const placement = target.store.placementOf(copy.manifest.descriptor?.brokerVersion);
  const key = contentKey(partitionId, checkpointId, nodeSegment, kind, file.name, placement.layout);
  const label = `${kind === 'snapshot' ? 'Snapshot' : 'Segment'} file ${file.name} of partition ${partitionId} (node ${copy.ref.nodeId}'s copy)`;
  const decompression = placement.dialect === 'common' ? decompressionFor(file.compression, label) : undefined;
  const size = decompression ? undefined : await source.fileSize(copy, kind, file.name);
  const meter = new Crc32cMeter();
  const stored = await source.openFile(copy, kind, file.name, signal);
  const writing = target.objects.write(key, meter, size, signal).catch((error: unknown) => {
    meter.destroy(error as Error);
    throw error;
  });
  try {
    await Promise.all([pipeline([stored, ...(decompression ?? []), meter], { signal }), writing]);
  } catch (error) {
    if (error instanceof RestoreError || !decompression || signal.aborted) throw error;
    throw new BackupInvalidError(`${label} is not a valid ${file.compression} stream: ${(error as Error).message}. The backup is corrupt.`, { cause: error });
  }
  const written = { key, bytes: meter.bytes, crc32c: meter.crc32c };
  await verifyWritten(target, written, signal);
  return written;
}

/** The manifest in the target's dialect; where the files were decompressed, it lists them as raw. */
function manifestWriteOf(target: CopyTarget, { ref, manifest }: BackupCopy): ManifestWrite {
  const placement = target.store.placementOf(manifest.descriptor?.brokerVersion);
  const written: BackupManifest = placement.dialect === 'common' ? { ...manifest, snapshotFiles: raw(manifest.snapshotFiles), segmentFiles: raw(manifest.segmentFiles) } : manifest;
  return { key: manifestKey(ref.partitionId, ref.checkpointId, ref.nodeSegment, placement.layout), text: Buffer.from(manifestJson(written, placement.dialect)) };
}

async function writeVerified(target: CopyTarget, key: string, text: Buffer, signal: AbortSignal): Promise<void> {
  const meter = new Crc32cMeter();
  meter.end(text);
  await target.objects.write(key, meter, text.length, signal);
  await verifyWritten(target, { key, bytes: meter.bytes, crc32c: meter.crc32c }, signal);
}

function raw(files: BackupFile[]): BackupFile[] {
  return files.map(({ name }) => ({ name }));
}

/** Reads the object back from the target and compares it with what was sent. */
async function verifyWritten(target: CopyTarget, written: Written, signal: AbortSignal): Promise<void> {
  const meter = new Crc32cMeter();
  await pipeline(await target.objects.read(written.key, { signal }), meter, async function* (chunks: AsyncIterable<Buffer>) {
    for await (const _chunk of chunks);
  });
  if (meter.bytes !== written.bytes || meter.crc32c !== written.crc32c) {
    throw new StoreUnavailableError(
      `${target.objects.locationOf(written.key)} reads back as ${meter.bytes} bytes with CRC32C ${formatCrc32c(meter.crc32c)}, but ` +
        `${written.bytes} bytes with CRC32C ${formatCrc32c(written.crc32c)} were written: the ${target.store.description} did not keep what it was sent.`,
    );
  }
}

