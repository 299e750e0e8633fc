import type { StoreConfig } from '../config/restore-config.js';
import { UsageError } from '../errors.js';
import type { BackupStore } from './backup-store.js';

/** Store modules are loaded on demand, so `--help` and filesystem restores never load cloud SDKs. */
export async function openStore(config: StoreConfig): Promise<BackupStore> {
  switch (config.type) {
    case 'FILESYSTEM': {
      const { FilesystemStore } = await import('./filesystem-store.js');
      return new FilesystemStore(config.basePath);
    }
    case 'S3': {
      const { S3Store } = await import('./s3-store.js');
      return new S3Store(config);
    }
    case 'GCS': {
      const { GcsStore } = await import('./gcs-store.js');
      return new GcsStore(config);
    }
    case 'AZURE': {
      const { AzureStore } = await import('./azure-store.js');
      return AzureStore.open(config);
    }
    case 'NONE':
      throw new UsageError(
        'No backup store is configured. Set zeebe.broker.data.backup.store (or camunda.data.backup.store) ' +
          'to S3, GCS, AZURE or FILESYSTEM, with the same settings the brokers used to take the backup.',
      );
  }
}
