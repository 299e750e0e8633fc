import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { BackupStore } from '../store/backup-store.js';

export interface PartitionProgress {
  partitionId: number;
  /** Stored bytes (compressed where the backup is), as the store reports them. */
  totalBytes: number;
  transferredBytes: number;
  startedAt?: number;
  finishedAt?: number;
}

/** Counts the bytes each partition has read from the store, for progress displays and the summary. */
export class TransferProgress {
  readonly partitions = new Map<number, PartitionProgress>();
  readonly startedAt = performance.now();

  constructor(totals: Map<number, number>) {
    for (const [partitionId, totalBytes] of totals) {
      this.partitions.set(partitionId, { partitionId, totalBytes, transferredBytes: 0 });
    }
  }

  /** The store, counting what flows out of it; the pipeline needs no knowledge of progress. */
  track(store: BackupStore): BackupStore {
    return {
      description: store.description,
      maxConcurrentTransfers: store.maxConcurrentTransfers,
      readsWholeFiles: store.readsWholeFiles ?? false,
      listManifests: (...args) => store.listManifests(...args),
      readManifest: (...args) => store.readManifest(...args),
      fileSize: (...args) => store.fileSize(...args),
      readFileHead: (...args) => store.readFileHead(...args),
      close: () => store.close(),
      ...(store.copyToLocalFile ? { copyToLocalFile: this.countingCopy(store.copyToLocalFile.bind(store)) } : {}),
      openFile: async (...args): Promise<Readable> => {
        const stream = await store.openFile(...args);
        const partition = this.partitions.get(args[0].ref.partitionId);
        if (partition) {
          partition.startedAt ??= performance.now();
          stream.on('data', (chunk: Buffer) => {
            partition.transferredBytes += chunk.length;
          });
        }
        return stream;
      },
    };
  }

  /** A kernel copy moves a whole file at once: it counts when it is done. */
  private countingCopy(copyToLocalFile: NonNullable<BackupStore['copyToLocalFile']>): BackupStore['copyToLocalFile'] {
    return async (...args) => {
      const copied = await copyToLocalFile(...args);
      const partition = this.partitions.get(args[0].ref.partitionId);
      if (copied && partition) {
        partition.startedAt ??= performance.now();
        partition.transferredBytes += (await stat(args[3])).size;
      }
      return copied;
    };
  }

  finished(partitionId: number): void {
    const partition = this.partitions.get(partitionId);
    if (partition) partition.finishedAt = performance.now();
  }

  get totalBytes(): number {
    return sum([...this.partitions.values()].map((p) => p.totalBytes));
  }

  get transferredBytes(): number {
    return sum([...this.partitions.values()].map((p) => p.transferredBytes));
  }
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
