import { DefaultAzureCredential } from '@azure/identity';
import {
  AnonymousCredential,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { describe, expect, inject, it } from 'vitest';
import type { AzureStoreConfig } from '../../src/config/restore-config.js';
import { StoreUnavailableError, UsageError } from '../../src/errors.js';
import { findCompletedCopy } from '../../src/restore/find-backup.js';
import { type AzureAuth, azureAuthOf, azureServiceClient, AzureStore } from '../../src/store/azure-store.js';
import { azureTestClient, createTestContainer, putAzureBlob, uploadAzureBackup } from '../support/azure-backup.js';
import { azuriteAccount, azuriteConnectionString } from '../support/azurite-server.js';
import { describeObjectStoreContract, manifestOnly, quiet } from '../support/object-store-suite.js';

const blobEndpoint = inject('azuriteBlobEndpoint');
const service = azureTestClient(blobEndpoint);

function configFor(container: string | undefined, settings: Partial<AzureStoreConfig> = {}): AzureStoreConfig {
  return {
    type: 'AZURE',
    connectionString: azuriteConnectionString(blobEndpoint),
    createContainer: true,
    ...(container ? { basePath: container } : {}),
    ...settings,
  };
}

/** A SAS token for one container, signed with Azurite's account key, as `az storage container generate-sas` makes them. */
function containerSas(container: string, permissions: string): string {
  return generateBlobSASQueryParameters(
    { containerName: container, permissions: ContainerSASPermissions.parse(permissions), expiresOn: new Date(Date.now() + 3600_000) },
    new StorageSharedKeyCredential(azuriteAccount.name, azuriteAccount.key),
  ).toString();
}

describeObjectStoreContract({
  name: 'Azure',
  endpoint: new URL(blobEndpoint).origin,
  async newLocation() {
    const container = await createTestContainer(service);
    return {
      upload: (backup) => uploadAzureBackup(container, backup),
      put: (key, text) => putAzureBlob(container, { key, text }),
      open: ({ endpoint, ...options } = {}) =>
        AzureStore.open(
          configFor(container.containerName, endpoint ? { connectionString: azuriteConnectionString(`${endpoint}/${azuriteAccount.name}`) } : {}),
          options,
        ),
      nameOf: (key) => `${blobEndpoint}/${container.containerName}/${key}`,
    };
  },
  isContentDownload: (request, fileName) => request.method === 'GET' && request.path.split('?')[0]!.endsWith(`/${fileName}`),
  openMissing: () => AzureStore.open(configFor('no-such-container')),
  missing: new RegExp(
    `${blobEndpoint}/no-such-container/manifests/1/1/: the container does not exist\\. Check backup\\.azure\\.basePath \\(the container name\\)`,
  ),
});

describe('Azure authentication', () => {
  const choiceOf = (settings: Partial<AzureStoreConfig>): AzureAuth['kind'] => azureAuthOf(configFor('c', { connectionString: undefined, ...settings })).kind;
  const sasToken = { type: 'service' as const, value: 'sv=2024-01-01&sig=abc' };
  const connectionString = 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net';

  it('takes the first configured of SAS token, connection string, account key and the default credential, like the broker', () => {
    const everything = { sasToken, connectionString, accountName: 'acct', accountKey: 'a2V5', endpoint: 'https://acct.blob.core.windows.net' };
    expect(choiceOf(everything)).toBe('sasToken');
    expect(choiceOf({ ...everything, sasToken: undefined })).toBe('connectionString');
    expect(choiceOf({ ...everything, sasToken: undefined, connectionString: undefined })).toBe('accountKey');
    expect(choiceOf({ endpoint: 'https://acct.blob.core.windows.net' })).toBe('defaultAzureCredential');
    // An account name alone names the endpoint for managed or workload identity.
    expect(azureAuthOf(configFor('c', { connectionString: undefined, accountName: 'acct' }))).toEqual({
      kind: 'defaultAzureCredential',
      endpoint: 'https://acct.blob.core.windows.net',
    });
  });

  it('builds each choice with the matching SDK credential', async () => {
    const container = (auth: AzureAuth) => azureServiceClient(auth).then((client) => client.getContainerClient('c'));
    const sas = await container({ kind: 'sasToken', endpoint: 'https://acct.blob.core.windows.net', sasToken: 'sv=2024-01-01&sig=abc' });
    expect(sas.credential).toBeInstanceOf(AnonymousCredential);
    expect(sas.url).toBe('https://acct.blob.core.windows.net/c?sv=2024-01-01&sig=abc');
    const key = await container({ kind: 'accountKey', endpoint: 'https://acct.blob.core.windows.net', accountName: 'acct', accountKey: 'a2V5' });
    expect(key.credential).toBeInstanceOf(StorageSharedKeyCredential);
    const fromString = await container({ kind: 'connectionString', connectionString });
    expect(fromString.credential).toBeInstanceOf(StorageSharedKeyCredential);
    expect(fromString.accountName).toBe('acct');
    // Managed identity, AKS workload identity (AZURE_FEDERATED_TOKEN_FILE), environment, Azure CLI.
    const chain = await container({ kind: 'defaultAzureCredential', endpoint: 'https://acct.blob.core.windows.net' });
    expect(chain.credential).toBeInstanceOf(DefaultAzureCredential);
  });

  it('refuses settings the broker would refuse', async () => {
    await expect(AzureStore.open(configFor(undefined))).rejects.toThrow(/backup\.azure\.basePath is not set/);
    await expect(AzureStore.open(configFor('c', { connectionString: undefined, accountKey: 'a2V5' }))).rejects.toThrow(
      /accountKey is set but backup\.azure\.accountName is not/,
    );
    const noAccount = await AzureStore.open(configFor('c', { connectionString: undefined })).catch((error: unknown) => error);
    expect(noAccount).toBeInstanceOf(UsageError);
    expect((noAccount as Error).message).toMatch(/Neither backup\.azure\.endpoint nor backup\.azure\.accountName is set/);
    const garbage = await AzureStore.open(configFor('c', { connectionString: 'not a connection string, secret-4711' })).catch((error: unknown) => error);
    expect(garbage).toBeInstanceOf(UsageError);
    expect((garbage as Error).message).not.toContain('secret-4711');
  });

  it('reads with a SAS token, which wins over a wrong account key', async () => {
    const container = await createTestContainer(service);
    await uploadAzureBackup(container, manifestOnly(1, 3n, 0));
    const store = await AzureStore.open(
      configFor(container.containerName, {
        connectionString: undefined,
        endpoint: blobEndpoint,
        sasToken: { type: 'service', value: `?${containerSas(container.containerName, 'rl')}` },
        accountName: azuriteAccount.name,
        accountKey: Buffer.from('wrong key').toString('base64'),
      }),
    );
    expect(store.description).toBe(`Azure container ${container.containerName} (${blobEndpoint}/${container.containerName}, SAS token)`);
    expect((await findCompletedCopy(store, 1, 3n, quiet)).ref.nodeId).toBe(0);
  });

  it('reads with account name and key', async () => {
    const container = await createTestContainer(service);
    await uploadAzureBackup(container, manifestOnly(1, 4n, 2));
    const store = await AzureStore.open(
      configFor(container.containerName, { connectionString: undefined, endpoint: blobEndpoint, accountName: azuriteAccount.name, accountKey: azuriteAccount.key }),
    );
    expect((await findCompletedCopy(store, 1, 4n, quiet)).ref.nodeId).toBe(2);
  });

  it('explains a SAS token without list permission, without printing it', async () => {
    const container = await createTestContainer(service);
    const sas = containerSas(container.containerName, 'r');
    const store = await AzureStore.open(
      configFor(container.containerName, { connectionString: undefined, endpoint: blobEndpoint, sasToken: { type: 'service', value: sas } }),
    );
    const failure = await store.listManifests(1, 1n).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).message).toMatch(/access was denied \(AuthorizationPermissionMismatch: .*\)\. The credentials must allow listing and reading blobs/);
    expect((failure as Error).message).not.toContain(new URLSearchParams(sas).get('sig')!);
  });

  it('explains a wrong account key without printing it', async () => {
    const container = await createTestContainer(service);
    const accountKey = Buffer.from('recognisable-wrong-account-key').toString('base64');
    const store = await AzureStore.open(
      configFor(container.containerName, { connectionString: undefined, endpoint: blobEndpoint, accountName: azuriteAccount.name, accountKey }),
    );
    const failure = await store.listManifests(1, 1n).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    // Azure answers AuthenticationFailed; Azurite AuthorizationFailure.
    expect((failure as Error).message).toMatch(/(credentials were rejected \(AuthenticationFailed\)|access was denied \(AuthorizationFailure: )/);
    expect((failure as Error).message).toContain(`${blobEndpoint}/${container.containerName}/manifests/1/1/`);
    expect((failure as Error).message).not.toContain(accountKey);
  });
});
