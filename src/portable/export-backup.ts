import { Readable } from 'node:stream';
import type { Logger } from '../log/logger.js';
import type { BackupManifest } from '../manifest/manifest.js';
import { type ManifestDialect, manifestJson } from '../manifest/write-manifest.js';
import type { ArchiveWriter } from '../store/archive-writer.js';
import type { BackupStore } from '../store/backup-store.js';
import { StoreUnavailableError } from '../errors.js';
import { contentKey, manifestKey } from '../store/store-layout.js';
import { s3PlacementOf } from '../store/zeebe-layout-store.js';
import { formatBytes } from '../util/format.js';
import { type BackupSelection, filesOfCopy } from './backup-selection.js';

/**
 * Writes a backup into an archive, laid out like a filesystem store (the v2 layout), one file after
 * the other, each streamed from the store into the archive: memory does not depend on the
 * backup's size. Files keep their bytes as stored (compressed where the broker compressed them);
 * manifests are written in the common dialect, or in S3's where they must record a compression.
 * Order: files, metadata, manifests, then the index with every entry's size and CRC32C.
 */
export async function exportBackup(
  store: BackupStore,
  selection: BackupSelection,
  archive: ArchiveWriter,
  { log, signal, createdBy }: { log: Logger; signal: AbortSignal; createdBy: string },
): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const copy of selection.copies) {
    const { partitionId, checkpointId, nodeSegment } = copy.ref;
    const bytesBefore = bytes;
    for (const { kind, file } of filesOfCopy(copy)) {
      const size = await store.fileSize(copy, kind, file.name);
      if (size === undefined) throw new StoreUnavailableError(`The ${store.description} did not report the size of ${file.name} (${copy.ref.location}).`);
      await archive.write(contentKey(partitionId, checkpointId, nodeSegment, kind, file.name), await store.openFile(copy, kind, file.name, signal), size, signal);
      files++;
      bytes += size;
    }
    log.info(`Partition ${partitionId}: exported node ${copy.ref.nodeId}'s copy (${filesOfCopy(copy).length} files, ${formatBytes(bytes - bytesBefore)}).`);
  }
  for (const { key, text } of selection.metadata) await writeText(archive, key, text, signal);
  for (const { ref, manifest } of [...selection.copies, ...selection.manifestsOnly]) {
    await writeText(archive, manifestKey(ref.partitionId, ref.checkpointId, ref.nodeSegment), manifestJson(manifest, archiveDialectOf(manifest)), signal);
  }
  await archive.finish({ backupId: selection.backupId.toString(), createdBy });
  return { files, bytes };
}

/** Common, as a filesystem store holds it, unless a file is stored compressed: only S3's dialect records that. */
function archiveDialectOf(manifest: BackupManifest): ManifestDialect {
  const compressed = [...manifest.snapshotFiles, ...manifest.segmentFiles].some((file) => file.compression);
  return compressed ? s3PlacementOf(manifest.descriptor?.brokerVersion).dialect : 'common';
}

function writeText(archive: ArchiveWriter, key: string, text: string, signal: AbortSignal): Promise<void> {
  const bytes = Buffer.from(text);
  return archive.write(key, Readable.from([bytes]), bytes.length, signal);
}
