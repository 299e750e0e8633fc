import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Bucket, type File, Storage, type StorageOptions } from '@google-cloud/storage';
import type { GcsStoreConfig } from '../config/restore-config.js';
import { errnoCode, type RestoreError, StoreUnavailableError } from '../errors.js';
import type { ListedObject, ObjectReadOptions, WritableObjectBackend } from './object-backend.js';
import { defaultIdleTimeoutMs, type ObjectStoreOptions, watchedBody } from './object-store.js';
import { resumableDownload } from './resumable-download.js';
import { callStore, networkErrorCodes, rangeIgnored, type StoreErrorExplanation, storeError } from './store-errors.js';
import { ZeebeLayoutStore } from './zeebe-layout-store.js';
import { readUpTo } from '../util/read-up-to.js';
import { requireCommonJs } from '../util/common-js.js';

const { PassThroughClient } = requireCommonJs('google-auth-library') as typeof import('google-auth-library');

/** Beyond this many parallel downloads one host's disk and network are the limit, not GCS. */
const maxParallelTransfers = 16;
/** The library retries 408, 429, 5xx and broken connections itself, with exponential backoff. */
const apiCallAttempts = 5;

/**
 * Zeebe's GCS store: `[basePath/]manifests/…` and `[basePath/]contents/…` in one bucket
 * (backup-store-format.md §1), with the broker's `bucketName`, `basePath`, `host` and `auth`.
 */
export class GcsStore extends ZeebeLayoutStore {
  constructor(config: GcsStoreConfig, options: ObjectStoreOptions = {}) {
    super(new GcsObjects(config, options));
  }
}

/** One GCS bucket below an optional base path, as objects. */
export class GcsObjects implements WritableObjectBackend {
  readonly description: string;
  readonly maxConcurrentTransfers = maxParallelTransfers;
  private readonly storage: Storage;
  private readonly bucket: Bucket;
  /** `''` or the sanitised base path followed by one `/`. */
  private readonly base: string;
  /** The host or `storage.googleapis.com`, for messages. */
  private readonly server: string;
  private readonly listPageSize: number;
  private readonly idleTimeoutMs: number;

  constructor(config: GcsStoreConfig, options: ObjectStoreOptions = {}) {
    this.base = gcsBasePrefix(config.basePath);
    this.idleTimeoutMs = options.idleTimeoutMs ?? defaultIdleTimeoutMs;
    this.storage = new Storage(gcsClientOptions(config));
    this.bucket = this.storage.bucket(config.bucketName);
    // GCS's default and largest page.
    this.listPageSize = options.listPageSize ?? 1000;
    this.server = `${config.host ? `host ${config.host}` : 'storage.googleapis.com'}${config.auth === 'none' ? ', anonymous' : ''}`;
    this.description = `GCS bucket ${config.bucketName}${this.base ? ` under ${this.base}` : ''} (${this.server})`;
  }

  locationOf(key: string): string {
    return this.base + key;
  }

  async *list(relativePrefix: string): AsyncIterable<ListedObject> {
    const prefix = this.base + relativePrefix;
    let pageToken: string | undefined;
    do {
      const query = { prefix, autoPaginate: false, maxResults: this.listPageSize, ...(pageToken ? { pageToken } : {}) };
      const [files, next] = await this.call('list', prefix, () => this.bucket.getFiles(query));
      for (const { name, metadata } of files) {
        if (name.startsWith(this.base)) yield { key: name.slice(this.base.length), ...(metadata.size === undefined ? {} : { size: Number(metadata.size) }) };
      }
      pageToken = (next as { pageToken?: string } | null)?.pageToken;
    } while (pageToken);
  }

  async read(relativeKey: string, { signal, range, checkSize }: ObjectReadOptions = {}): Promise<Readable> {
    const key = this.base + relativeKey;
    // The metadata call makes a missing object fail here, with its key, and names the generation:
    // resuming reads exactly that generation, so a replaced object is never spliced in.
    const [metadata] = await this.call('download', key, () => this.bucket.file(key).getMetadata());
    if (metadata.size === undefined) {
      throw new StoreUnavailableError(`The ${this.description} did not report the size of ${key}.`);
    }
    checkSize?.(Number(metadata.size));
    const file = this.bucket.file(key, { generation: metadata.generation });
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? Infinity, Number(metadata.size));
    // `end` of the library's read stream is inclusive.
    const bodyFrom = (offset: number) => this.body(file, start + offset, range ? end - 1 : undefined);
    return resumableDownload({
      first: bodyFrom(0),
      size: end - start,
      label: `gs://${this.bucket.name}/${key}`,
      ...(signal ? { signal } : {}),
      openAt: async (offset) => bodyFrom(offset),
    });
  }

  async readHead(key: string, length: number): Promise<Buffer> {
    return readUpTo(this.body(this.bucket.file(this.base + key), 0, length - 1), length);
  }

  async size(relativeKey: string): Promise<number | undefined> {
    const key = this.base + relativeKey;
    const [metadata] = await this.call('inspect', key, () => this.bucket.file(key).getMetadata());
    return metadata.size === undefined ? undefined : Number(metadata.size);
  }

  /**
   * A single-request upload with the body streamed; GCS creates the object only when the request
   * completes, and the library compares the CRC32C GCS computed with the one of the bytes sent.
   */
  async write(relativeKey: string, body: Readable, _size: number | undefined, signal?: AbortSignal): Promise<void> {
    const key = this.base + relativeKey;
    await this.call('upload', key, () => pipeline(body, this.bucket.file(key).createWriteStream({ resumable: false }), signal ? { signal } : {}));
  }

  async close(): Promise<void> {}

  /**
   * The stored bytes from `start` to `end` or the end (no transparent gunzip, no whole-object hash on a partial read).
   * The library retries the request until the response headers arrive; an HTTP error after that
   * is final and becomes a RestoreError, while a body that breaks off stays a plain error for the
   * resumable download to continue.
   */
  private body(file: File, start: number, end?: number): Readable {
    const source = file.createReadStream({ ...(start > 0 ? { start } : {}), ...(end !== undefined ? { end } : {}), validation: false, decompress: false });
    const body = watchedBody(source, this.idleTimeoutMs, (error) =>
      httpStatusOf(error) === undefined ? error : this.failure('download', file.name, error),
    );
    source.once('response', (response: { headers?: Record<string, string | undefined> }) => {
      const range = response.headers?.['content-range'];
      if (start > 0 && !range?.startsWith(`bytes ${start}-`)) {
        body.destroy(rangeIgnored(this.description, file.name, start, range));
      }
    });
    return body;
  }

  private call<T>(action: string, key: string, operation: () => Promise<T>): Promise<T> {
    return callStore(operation, (error) => this.failure(action, key, error));
  }

  private failure(action: string, key: string, error: unknown): RestoreError {
    return storeError(explainGcsError(error, action), `Could not ${action} gs://${this.bucket.name}/${key} (${this.server})`, [], error);
  }
}

/** Zeebe trims the base path and strips leading and trailing `/`; empty means none. */
export function gcsBasePrefix(basePath: string | undefined): string {
  const trimmed = (basePath ?? '').trim().replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/` : '';
}

/**
 * `auth: auto` uses Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's
 * application-default login, or the metadata server: GCE, and GKE Workload Identity), also
 * towards a custom `host`, as the broker does. `auth: none` sends no credentials at all: for
 * emulators and public buckets.
 */
export function gcsClientOptions(config: GcsStoreConfig): StorageOptions {
  return {
    ...(config.host ? { apiEndpoint: config.host } : {}),
    ...(config.auth === 'none' ? { authClient: new PassThroughClient() } : { useAuthWithCustomEndpoint: true }),
    retryOptions: { autoRetry: true, maxRetries: apiCallAttempts - 1, retryDelayMultiplier: 2, maxRetryDelay: 32, totalTimeout: 600 },
  };
}

function httpStatusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

const credentialsHint =
  'With backup.gcs.auth=auto the agent uses Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS ' +
  '(a service account key or workload identity federation file), or the metadata server (GCE, GKE Workload ' +
  'Identity: check the Kubernetes service account is bound to a Google service account or principal with ' +
  'access to the bucket). Use auth=none only for emulators and public buckets.';

/** The library reports HTTP answers with their status as `code`, network failures with Node's code. */
function explainGcsError(error: unknown, action: string): StoreErrorExplanation {
  const status = httpStatusOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (status === 404 && (action === 'list' || /bucket does not exist/i.test(message))) {
    return {
      failure: 'storeUnavailable',
      reason: 'the bucket does not exist',
      hint: 'Check backup.gcs.bucketName and, for an emulator or private endpoint, backup.gcs.host.',
    };
  }
  if (status === 404) {
    return { failure: 'backupInvalid', reason: 'the object does not exist', hint: 'The backup is incomplete or was partly deleted.' };
  }
  if (status === 412) {
    return {
      failure: 'backupInvalid',
      reason: 'the object changed while it was being downloaded',
      hint: 'Something is writing to this backup; restore only from a backup nothing modifies.',
    };
  }
  if (status === 403) {
    return {
      failure: 'storeUnavailable',
      reason: `access was denied (${message})`,
      hint:
        'Grant the identity in use storage.objects.list and storage.objects.get on the bucket (for example ' +
        'roles/storage.objectViewer).',
    };
  }
  if (status === 401) {
    return { failure: 'storeUnavailable', reason: `the credentials were rejected or missing (${message})`, hint: credentialsHint };
  }
  if (status !== undefined) {
    return { failure: 'storeUnavailable', reason: `the server kept answering ${status} (${message})`, hint: 'Check the GCS service status and backup.gcs.host.' };
  }
  if (/default credentials|GOOGLE_APPLICATION_CREDENTIALS|is not a file|metadata/i.test(message)) {
    return { failure: 'storeUnavailable', reason: `no usable Google credentials were found (${message})`, hint: credentialsHint };
  }
  const code = errnoCode(error);
  if (code && networkErrorCodes.has(code)) {
    return {
      failure: 'storeUnavailable',
      reason: `the server could not be reached (${code})`,
      hint: 'Check backup.gcs.host, if set, and the network path to it (DNS, proxy, firewall).',
    };
  }
  return { failure: 'storeUnavailable', reason: message, hint: 'Check the GCS settings and the server.' };
}
