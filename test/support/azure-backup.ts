import { randomUUID } from 'node:crypto';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { type BackupObject, type PartitionBackup, writeCommonBackup } from '../../src/demo/common-manifest.js';
import { azuriteConnectionString } from './azurite-server.js';

export function azureTestClient(blobEndpoint: string): BlobServiceClient {
  return BlobServiceClient.fromConnectionString(azuriteConnectionString(blobEndpoint));
}

/** A new container with a unique name, so tests never see each other's blobs. */
export async function createTestContainer(service: BlobServiceClient): Promise<ContainerClient> {
  const container = service.getContainerClient(`backups-${randomUUID().slice(0, 13)}`);
  await container.create();
  return container;
}

export async function putAzureBlob(container: ContainerClient, object: BackupObject): Promise<void> {
  const blob = container.getBlockBlobClient(object.key);
  await ('source' in object ? blob.uploadFile(object.source) : blob.upload(object.text, Buffer.byteLength(object.text)));
}

/** Uploads one partition's backup exactly as the broker's Azure store writes it into its container. */
export async function uploadAzureBackup(container: ContainerClient, backup: PartitionBackup): Promise<void> {
  await writeCommonBackup(backup, (object) => putAzureBlob(container, object));
}
