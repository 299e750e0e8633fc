import { open } from 'node:fs/promises';
import type { StoreConfig } from '../config/restore-config.js';
import { StoreUnavailableError, UsageError } from '../errors.js';
import type { BackupStore } from './backup-store.js';
import type { WritableObjectBackend } from './object-backend.js';
import { commonConventions, type StoreConventions, ZeebeLayoutStore } from './zeebe-layout-store.js';

/** `--archive=<file>`: a backup archive (`restore export`) instead of the configured store. */
export interface ArchiveSource {
  type: 'ARCHIVE';
  path: string;
  /** A compressed archive is read once: the partitions whose files the command reads are kept, below `workDirectory`. */
  partitions: readonly number[];
  workDirectory: string;
}

/** Store modules are loaded on demand, so `--help` and filesystem restores never load cloud SDKs. */
export async function openStore(config: StoreConfig | ArchiveSource): Promise<BackupStore> {
  switch (config.type) {
    case 'ARCHIVE':
      return openArchive(config);
    case 'NONE':
      throw new UsageError(
        'No backup store is configured. Set zeebe.broker.data.backup.store (or camunda.data.backup.store) ' +
          'to S3, GCS, AZURE or FILESYSTEM, with the same settings the brokers used to take the backup.',
      );
    default: {
      const { store } = await openWritableStore(config);
      return store;
    }
  }
}

/** A store a backup can be copied into: its Zeebe conventions, and its objects to write. */
export async function openWritableStore(
  config: Exclude<StoreConfig, { type: 'NONE' }>,
): Promise<{ store: ZeebeLayoutStore; objects: WritableObjectBackend }> {
  const [objects, conventions] = await objectsOf(config);
  return { store: new ZeebeLayoutStore(objects, conventions), objects };
}

async function objectsOf(config: Exclude<StoreConfig, { type: 'NONE' }>): Promise<[WritableObjectBackend, StoreConventions]> {
  switch (config.type) {
    case 'FILESYSTEM': {
      const { FilesystemObjects } = await import('./filesystem-store.js');
      return [new FilesystemObjects(config.basePath), commonConventions];
    }
    case 'S3': {
      const { S3Objects, s3Conventions } = await import('./s3-store.js');
      return [new S3Objects(config), s3Conventions];
    }
    case 'GCS': {
      const { GcsObjects } = await import('./gcs-store.js');
      return [new GcsObjects(config), commonConventions];
    }
    case 'AZURE': {
      const { AzureObjects } = await import('./azure-store.js');
      return [await AzureObjects.open(config), commonConventions];
    }
  }
}

/** zstd's frame magic number: a compressed archive is streamed once, a plain one read in place. */
const zstdMagic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

async function openArchive(source: ArchiveSource): Promise<BackupStore> {
  const head = Buffer.alloc(zstdMagic.length);
  const handle = await open(source.path, 'r').catch((error: unknown) => {
    throw new StoreUnavailableError(`Could not open the backup archive ${source.path}: ${(error as Error).message}.`);
  });
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  if (head.equals(zstdMagic)) {
    const { StreamedArchiveStore } = await import('./streamed-archive-store.js');
    return StreamedArchiveStore.open(source.path, source);
  }
  const { ArchiveStore } = await import('./archive-store.js');
  return ArchiveStore.open(source.path);
}
