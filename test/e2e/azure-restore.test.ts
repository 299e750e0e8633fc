import { join } from 'node:path';
import { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import { describe, expect, inject, it } from 'vitest';
import { azureTestClient, createTestContainer, putAzureBlob, uploadAzureBackup } from '../support/azure-backup.js';
import { azuriteAccount, azuriteConnectionString } from '../support/azurite-server.js';
import { backupId, describeCloudRestore, restoreFrom } from '../support/cloud-restore-suite.js';
import { tempDir } from '../support/fixtures.js';
import { expectNoSecretIn, expectZeebeTruncatedJournal, zeebeFixtureBackups } from '../support/restore-checks.js';
import { runRestore } from '../support/run-restore.js';

const blobEndpoint = inject('azuriteBlobEndpoint');
const service = azureTestClient(blobEndpoint);

/** The broker's Azure settings; the connection string of Azurite unless `settings` say otherwise. */
function azureEnv(container: string, settings: Record<string, string> = {}): Record<string, string> {
  return {
    ZEEBE_BROKER_DATA_BACKUP_STORE: 'AZURE',
    ZEEBE_BROKER_DATA_BACKUP_AZURE_BASEPATH: container,
    ZEEBE_BROKER_DATA_BACKUP_AZURE_CONNECTIONSTRING: azuriteConnectionString(blobEndpoint),
    ...settings,
  };
}

/** A container holding the Zeebe 8.5.4 backup of partitions 1 and 2. */
async function containerWithBackup(): Promise<string> {
  const container = await createTestContainer(service);
  await Promise.all((await zeebeFixtureBackups(backupId)).map((backup) => uploadAzureBackup(container, backup)));
  return container.containerName;
}

describeCloudRestore({
  store: 'AZURE',
  async newLocation() {
    const container = await createTestContainer(service);
    return {
      upload: async (backups) => {
        await Promise.all(backups.map((backup) => uploadAzureBackup(container, backup)));
      },
      put: (key, text) => putAzureBlob(container, { key, text }),
      env: azureEnv(container.containerName),
    };
  },
  missing: () => ({
    env: azureEnv('no-such-container'),
    message: new RegExp(`${blobEndpoint}/no-such-container/manifests/1/1700000000789/: the container does not exist`),
  }),
});

describe('Azure authentication end to end', () => {
  const accountKeyEnv = {
    ZEEBE_BROKER_DATA_BACKUP_AZURE_CONNECTIONSTRING: 'none',
    ZEEBE_BROKER_DATA_BACKUP_AZURE_ENDPOINT: blobEndpoint,
    ZEEBE_BROKER_DATA_BACKUP_AZURE_ACCOUNTNAME: azuriteAccount.name,
    ZEEBE_BROKER_DATA_BACKUP_AZURE_ACCOUNTKEY: azuriteAccount.key,
  };

  it('restores with account name and key', async () => {
    const work = await tempDir();
    const run = await restoreFrom(work, azureEnv(await containerWithBackup(), accountKeyEnv));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('account key)');
    expectZeebeTruncatedJournal(join(work, 'data/raft-partition/partitions/2'), 2);
  });

  it('restores with a SAS token for the container', async () => {
    const container = await containerWithBackup();
    const sas = generateBlobSASQueryParameters(
      { containerName: container, permissions: ContainerSASPermissions.parse('rl'), expiresOn: new Date(Date.now() + 3600_000) },
      new StorageSharedKeyCredential(azuriteAccount.name, azuriteAccount.key),
    ).toString();
    const work = await tempDir();
    const run = await restoreFrom(
      work,
      azureEnv(container, {
        ZEEBE_BROKER_DATA_BACKUP_AZURE_CONNECTIONSTRING: 'none',
        ZEEBE_BROKER_DATA_BACKUP_AZURE_ENDPOINT: blobEndpoint,
        ZEEBE_BROKER_DATA_BACKUP_AZURE_SASTOKEN_TYPE: 'service',
        ZEEBE_BROKER_DATA_BACKUP_AZURE_SASTOKEN_VALUE: sas,
      }),
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('SAS token)');
    expectNoSecretIn(run.stdout, [new URLSearchParams(sas).get('sig')!]);
    expectZeebeTruncatedJournal(join(work, 'data/raft-partition/partitions/1'), 1);
  });

  describe('never prints credentials', () => {
    const wrongKey = Buffer.from('recognisable-wrong-account-key-4711').toString('base64');
    const secrets = {
      ZEEBE_BROKER_DATA_BACKUP_AZURE_ACCOUNTKEY: wrongKey,
      ZEEBE_BROKER_DATA_BACKUP_AZURE_SASTOKEN_VALUE: 'sv=2024-01-01&sig=recognisable%2Fsignature',
      ZEEBE_BROKER_DATA_BACKUP_AZURE_CONNECTIONSTRING: `AccountName=x;AccountKey=${wrongKey};BlobEndpoint=${blobEndpoint}`,
    };

    it('in --print-config', async () => {
      const work = await tempDir();
      const run = await runRestore(['--print-config'], { cwd: work, env: { ...azureEnv('c', secrets), ZEEBE_BROKER_DATA_BACKUP_AZURE_SASTOKEN_TYPE: 'account' } });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/accountKey/);
      expectNoSecretIn(run.stdout + run.stderr, Object.values(secrets));
    });

    it.each(['text', 'json'])('when the account key is rejected (%s log)', async (format) => {
      const work = await tempDir();
      const env = { ...azureEnv(await containerWithBackup(), accountKeyEnv), ZEEBE_BROKER_DATA_BACKUP_AZURE_ACCOUNTKEY: wrongKey };
      const run = await restoreFrom(work, env, [`--log-format=${format}`]);
      expect(run.code).toBe(6);
      expect(run.stderr).toContain(blobEndpoint);
      expectNoSecretIn(run.stdout + run.stderr, [wrongKey]);
    });
  });
});

