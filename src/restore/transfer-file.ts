import { createWriteStream } from 'node:fs';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompressionFor } from '../compression/registry.js';
import { asLocalStorageError, BackupInvalidError, RestoreError, StoreUnavailableError } from '../errors.js';
import type { BackupFile } from '../manifest/manifest.js';
import type { BackupCopy, BackupFileKind, BackupStore } from '../store/backup-store.js';
import { abortReason } from '../util/concurrency.js';

export interface FileTransfer {
  copy: BackupCopy;
  kind: BackupFileKind;
  file: BackupFile;
  destination: string;
}

type Stage = 'read' | 'decompress' | 'write';

/**
 * Streams one file from the store to its place in the staging area, decompressing on the way, so
 * memory stays at a few buffers whatever the file size and every byte is written once. The file
 * is fsynced before the stream closes so a later rename cannot expose a file with holes.
 */
export async function transferFile(store: BackupStore, transfer: FileTransfer, signal: AbortSignal): Promise<number> {
  const { copy, kind, file, destination } = transfer;
  const label = `${kind === 'snapshot' ? 'Snapshot' : 'Segment'} file ${file.name} of partition ${copy.ref.partitionId} (node ${copy.ref.nodeId}'s copy)`;
  const decompression = decompressionFor(file.compression, label);
  const source = await store.openFile(copy, kind, file.name, signal);
  const sink = createWriteStream(destination, { flags: 'wx', flush: true, highWaterMark: 1024 * 1024 });
  let failedStage: Stage | undefined;
  const blame = (stage: Stage) => () => {
    failedStage ??= stage;
  };
  source.once('error', blame('read'));
  decompression?.once('error', blame('decompress'));
  sink.once('error', blame('write'));
  const stages: (Readable | Transform)[] = decompression ? [source, decompression] : [source];
  try {
    await pipeline([...stages, sink], { signal });
  } catch (error) {
    if (signal.aborted) throw abortReason(signal, error);
    throw classify(error, failedStage, label, destination, file.compression);
  }
  return sink.bytesWritten;
}

function classify(error: unknown, stage: Stage | undefined, label: string, destination: string, algorithm?: string): unknown {
  if (error instanceof RestoreError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  switch (stage) {
    case 'write':
      return asLocalStorageError(error, 'write', destination);
    case 'decompress':
      return new BackupInvalidError(`${label} is not a valid ${algorithm} stream: ${reason}. The backup is corrupt.`, {
        cause: error,
      });
    default:
      return new StoreUnavailableError(`${label}: download failed: ${reason}.`, { cause: error });
  }
}
