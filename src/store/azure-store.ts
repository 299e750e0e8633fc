import type { Readable } from 'node:stream';
import {
  AnonymousCredential,
  type BlobDownloadResponseParsed,
  BlobServiceClient,
  type ContainerClient,
  type StoragePipelineOptions,
  StorageRetryPolicyType,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import type { AzureStoreConfig } from '../config/restore-config.js';
import { type RestoreError, StoreUnavailableError, UsageError } from '../errors.js';
import type { ListedObject, ObjectReadOptions, WritableObjectBackend } from './object-backend.js';
import { defaultIdleTimeoutMs, type ObjectStoreOptions, watchedBody } from './object-store.js';
import { resumableDownload } from './resumable-download.js';
import { callStore, firstLine, networkErrorCodes, rangeIgnored, type StoreErrorExplanation, storeError } from './store-errors.js';
import { ZeebeLayoutStore } from './zeebe-layout-store.js';
import { readUpTo } from '../util/read-up-to.js';

/** Beyond this many parallel downloads one host's disk and network are the limit, not Azure. */
const maxParallelTransfers = 16;

const uploadBlockSize = 4 * 1024 * 1024;
const uploadConcurrency = 2;

/**
 * The SDK retries 500, 503 (Azure's throttling answer) and broken connections itself, with
 * exponential backoff. No `tryTimeoutInMs`: it becomes the server-side timeout of the whole call,
 * which would cut long downloads of large segments.
 */
const retryOptions = {
  retryPolicyType: StorageRetryPolicyType.EXPONENTIAL,
  maxTries: 5,
  retryDelayInMs: 1000,
  maxRetryDelayInMs: 32_000,
};

/** How the agent authenticates, chosen like the broker does: the first that is configured wins. */
export type AzureAuth =
  | { kind: 'sasToken'; endpoint: string; sasToken: string }
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'accountKey'; endpoint: string; accountName: string; accountKey: string }
  | { kind: 'defaultAzureCredential'; endpoint: string };

const authLabels: Record<AzureAuth['kind'], string> = {
  sasToken: 'SAS token',
  connectionString: 'connection string',
  accountKey: 'account key',
  defaultAzureCredential: 'default Azure credential',
};

/**
 * Zeebe's Azure store: the container is the broker's `basePath`, holding `manifests/…` and
 * `contents/…` (backup-store-format.md §1). Never creates the container.
 */
export class AzureStore extends ZeebeLayoutStore {
  static async open(config: AzureStoreConfig, options: ObjectStoreOptions = {}): Promise<AzureStore> {
    return new AzureStore(await AzureObjects.open(config, options));
  }
}

/** The blobs of one Azure container, as objects. */
export class AzureObjects implements WritableObjectBackend {
  readonly description: string;
  readonly maxConcurrentTransfers = maxParallelTransfers;
  /** The container's URL without any SAS query: names account and container in messages. */
  private readonly containerUrl: string;
  private readonly listPageSize: number;
  private readonly idleTimeoutMs: number;

  private constructor(
    private readonly container: ContainerClient,
    auth: AzureAuth,
    private readonly secrets: string[],
    options: ObjectStoreOptions,
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? defaultIdleTimeoutMs;
    // Azure's default and largest page.
    this.listPageSize = options.listPageSize ?? 5000;
    const url = new URL(container.url);
    url.search = '';
    this.containerUrl = url.toString().replace(/\/$/, '');
    this.description = `Azure container ${container.containerName} (${this.containerUrl}, ${authLabels[auth.kind]})`;
  }

  static async open(config: AzureStoreConfig, options: ObjectStoreOptions = {}): Promise<AzureObjects> {
    if (!config.basePath) {
      throw new UsageError(
        'backup.azure.basePath is not set. Zeebe\'s Azure store keeps the backups of a cluster in the container ' +
          'named by basePath: set it to the value the brokers use.',
      );
    }
    const auth = azureAuthOf(config);
    const service = await azureServiceClient(auth);
    return new AzureObjects(service.getContainerClient(config.basePath), auth, secretsOf(config), options);
  }

  locationOf(key: string): string {
    return key;
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    const pages = this.container.listBlobsFlat({ prefix }).byPage({ maxPageSize: this.listPageSize });
    for (;;) {
      const page = await this.call('list', prefix, () => pages.next());
      if (page.done) return;
      for (const { name, properties } of page.value.segment.blobItems) {
        yield { key: name, ...(properties.contentLength === undefined ? {} : { size: properties.contentLength }) };
      }
    }
  }

  async read(key: string, { signal, range, checkSize }: ObjectReadOptions = {}): Promise<Readable> {
    const start = range?.start ?? 0;
    const countFrom = (offset: number) => (range ? { count: range.end - start - offset } : {});
    // The first request is made here so a missing blob fails with its key, not mid-pipeline.
    const first = await this.get(key, { offset: start, ...countFrom(0) }, signal);
    if (range && !first.contentRange?.startsWith(`bytes ${start}-`)) throw rangeIgnored(this.description, key, start, first.contentRange);
    if (first.contentLength === undefined) {
      throw new StoreUnavailableError(`The ${this.description} did not report the size of ${key}.`);
    }
    try {
      checkSize?.(first.contentLength);
    } catch (error) {
      bodyOf(first).destroy();
      throw error;
    }
    return resumableDownload({
      first: watchedBody(bodyOf(first), this.idleTimeoutMs),
      size: first.contentLength,
      label: `${this.containerUrl}/${key}`,
      ...(signal ? { signal } : {}),
      // If-Match: resuming must continue the same blob, never splice in a replaced one.
      openAt: async (offset, resumeSignal) => {
        const rest = await this.get(key, { offset: start + offset, ...countFrom(offset), ...(first.etag ? { ifMatch: first.etag } : {}) }, resumeSignal);
        if (!rest.contentRange?.startsWith(`bytes ${start + offset}-`)) throw rangeIgnored(this.description, key, start + offset, rest.contentRange);
        return watchedBody(bodyOf(rest), this.idleTimeoutMs);
      },
    });
  }

  async readHead(key: string, length: number, signal?: AbortSignal): Promise<Buffer> {
    return readUpTo(watchedBody(bodyOf(await this.get(key, { offset: 0, count: length }, signal)), this.idleTimeoutMs), length);
  }

  /**
   * The blob's bytes from `offset` (`count` of them, or to the end). The SDK's own resume is off
   * (maxRetryRequests 0): resumableDownload does it, for every store alike.
   */
  private get(key: string, range: { offset: number; count?: number; ifMatch?: string }, abortSignal?: AbortSignal) {
    return this.call('download', key, () =>
      this.container.getBlobClient(key).download(range.offset, range.count, {
        maxRetryRequests: 0,
        ...(abortSignal ? { abortSignal } : {}),
        ...(range.ifMatch ? { conditions: { ifMatch: range.ifMatch } } : {}),
      }),
    );
  }

  async size(key: string): Promise<number | undefined> {
    const properties = await this.call('inspect', key, () => this.container.getBlobClient(key).getProperties());
    return properties.contentLength;
  }

  /**
   * Staged blocks of 4 MiB, two at once (8 MiB of memory at most), committed in one list at the
   * end: the blob appears whole when the list is committed, never before.
   */
  async write(key: string, body: Readable, _size: number | undefined, signal?: AbortSignal): Promise<void> {
    await this.call('upload', key, () =>
      this.container.getBlockBlobClient(key).uploadStream(body, uploadBlockSize, uploadConcurrency, signal ? { abortSignal: signal } : {}),
    );
  }

  async close(): Promise<void> {}

  private call<T>(action: string, key: string, operation: () => Promise<T>): Promise<T> {
    return callStore(operation, (error) => this.failure(action, key, error));
  }

  private failure(action: string, key: string, error: unknown): RestoreError {
    return storeError(explainAzureError(error, action), `Could not ${action} ${this.containerUrl}/${key}`, this.secrets, error);
  }
}

/**
 * The broker's precedence (configuration.md): a SAS token, then a connection string, then account
 * name and key, then the default Azure credential chain (environment, AKS workload identity,
 * managed identity, Azure CLI). The SAS token's `type` only says how it was made (user delegation,
 * service or account SAS): it is used the same way.
 */
export function azureAuthOf(config: AzureStoreConfig): AzureAuth {
  if (config.sasToken) {
    return { kind: 'sasToken', endpoint: endpointOf(config, 'a SAS token'), sasToken: config.sasToken.value.replace(/^\?/, '') };
  }
  if (config.connectionString) return { kind: 'connectionString', connectionString: config.connectionString };
  if (config.accountKey) {
    if (!config.accountName) {
      throw new UsageError('backup.azure.accountKey is set but backup.azure.accountName is not: set both, as the brokers do.');
    }
    return { kind: 'accountKey', endpoint: endpointOf(config, 'an account key'), accountName: config.accountName, accountKey: config.accountKey };
  }
  return { kind: 'defaultAzureCredential', endpoint: endpointOf(config, 'the default Azure credential') };
}

/** The blob service client for one way of authenticating; @azure/identity is loaded only when it is needed. */
export async function azureServiceClient(auth: AzureAuth): Promise<BlobServiceClient> {
  const options: StoragePipelineOptions = { retryOptions, keepAliveOptions: { enable: true } };
  switch (auth.kind) {
    case 'sasToken': {
      const url = new URL(auth.endpoint);
      url.search = auth.sasToken;
      return new BlobServiceClient(url.toString(), new AnonymousCredential(), options);
    }
    case 'connectionString':
      try {
        return BlobServiceClient.fromConnectionString(auth.connectionString, options);
      } catch {
        throw new UsageError(
          'backup.azure.connectionString is not a valid Azure Storage connection string ' +
            '(DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…[;BlobEndpoint=…]).',
        );
      }
    case 'accountKey':
      return new BlobServiceClient(auth.endpoint, new StorageSharedKeyCredential(auth.accountName, auth.accountKey), options);
    case 'defaultAzureCredential': {
      const { DefaultAzureCredential } = await import('@azure/identity');
      return new BlobServiceClient(auth.endpoint, new DefaultAzureCredential(), options);
    }
  }
}

/** `endpoint` as configured, else the account's public endpoint. */
function endpointOf(config: AzureStoreConfig, use: string): string {
  if (config.endpoint) return config.endpoint;
  if (config.accountName) return `https://${config.accountName}.blob.core.windows.net`;
  throw new UsageError(
    `Neither backup.azure.endpoint nor backup.azure.accountName is set, so the agent cannot tell which storage ` +
      `account to use with ${use}. Set endpoint (https://<account>.blob.core.windows.net) as the brokers do.`,
  );
}

/** Every configured secret and the parts of one that could be echoed alone (a key, a signature). */
function secretsOf(config: AzureStoreConfig): string[] {
  const whole = [config.accountKey, config.connectionString, config.sasToken?.value].filter((value): value is string => !!value);
  const parts = whole.flatMap((secret) =>
    [...secret.matchAll(/(?:AccountKey|SharedAccessSignature|sig)=([^;&]+)/gi)].flatMap((match) => {
      const value = match[1]!;
      return [value, safeDecode(value)];
    }),
  );
  return [...new Set([...whole, ...parts])];
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function bodyOf(response: BlobDownloadResponseParsed): Readable {
  if (!response.readableStreamBody) throw new Error('The Azure client returned no Node.js stream for a download.');
  return response.readableStreamBody as Readable;
}

const credentialsHint =
  'Check backup.azure.sasToken.value (not expired), backup.azure.connectionString, or backup.azure.accountName ' +
  'and accountKey; without them the default Azure credential is used (AZURE_CLIENT_ID, AZURE_TENANT_ID and ' +
  'AZURE_FEDERATED_TOKEN_FILE from AKS workload identity, a managed identity, or Azure CLI).';

const deniedHint =
  'The credentials must allow listing and reading blobs in this container: a SAS token needs the r and l ' +
  'permissions (for an account SAS also service b and resource types c and o), an identity the Storage Blob ' +
  'Data Reader role. A storage account firewall that does not admit this network is denied the same way.';

const deniedCodes = new Set([
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'AuthorizationResourceTypeMismatch',
  'AuthorizationServiceMismatch',
  'AuthorizationSourceIPMismatch',
  'AuthorizationProtocolMismatch',
  'InsufficientAccountPermissions',
]);

const credentialErrorNames = new Set(['CredentialUnavailableError', 'AggregateAuthenticationError', 'AuthenticationError', 'AuthenticationRequiredError']);

/** Azure names its errors by the `x-ms-error-code` (`ContainerNotFound`); network failures keep Node's code. */
function explainAzureError(error: unknown, action: string): StoreErrorExplanation {
  const { code, statusCode, name } = (error ?? {}) as { code?: unknown; statusCode?: unknown; name?: unknown };
  const message = firstLine(error instanceof Error ? error.message : String(error));
  if (code === 'ContainerNotFound' || (statusCode === 404 && action === 'list')) {
    return {
      failure: 'storeUnavailable',
      reason: 'the container does not exist',
      hint: 'Check backup.azure.basePath (the container name) and the storage account (endpoint, accountName or connectionString).',
    };
  }
  if (code === 'BlobNotFound' || statusCode === 404) {
    return { failure: 'backupInvalid', reason: 'the blob does not exist', hint: 'The backup is incomplete or was partly deleted.' };
  }
  if (code === 'ConditionNotMet' || statusCode === 412) {
    return {
      failure: 'backupInvalid',
      reason: 'the blob changed while it was being downloaded',
      hint: 'Something is writing to this backup; restore only from a backup nothing modifies.',
    };
  }
  if (typeof code === 'string' && deniedCodes.has(code)) {
    return { failure: 'storeUnavailable', reason: `access was denied (${code}: ${message})`, hint: deniedHint };
  }
  if (code === 'AuthenticationFailed' || code === 'InvalidAuthenticationInfo' || code === 'NoAuthenticationInformation' || statusCode === 401) {
    return { failure: 'storeUnavailable', reason: `the credentials were rejected (${String(code ?? statusCode)})`, hint: credentialsHint };
  }
  if (typeof name === 'string' && credentialErrorNames.has(name)) {
    return { failure: 'storeUnavailable', reason: `no Azure credential could be obtained (${message})`, hint: credentialsHint };
  }
  if (typeof code === 'string' && (networkErrorCodes.has(code) || code === 'REQUEST_SEND_ERROR')) {
    return {
      failure: 'storeUnavailable',
      reason: `the server could not be reached (${code})`,
      hint: 'Check backup.azure.endpoint (or the connection string\'s BlobEndpoint) and the network path to it (DNS, proxy, firewall).',
    };
  }
  if (typeof statusCode === 'number') {
    return {
      failure: 'storeUnavailable',
      reason: `the server kept answering ${statusCode}${typeof code === 'string' ? ` ${code}` : ''} (${message})`,
      hint: 'Check the storage account and the Azure service status.',
    };
  }
  return { failure: 'storeUnavailable', reason: message, hint: 'Check the Azure settings and the server.' };
}
