import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import type { GetObjectCommandInput, GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { S3StoreConfig } from '../config/restore-config.js';
import { errnoCode, StoreUnavailableError, UsageError } from '../errors.js';
import type { ListedObject, ObjectReadOptions, WritableObjectBackend } from './object-backend.js';
import { resumableDownload } from './resumable-download.js';
import { callStore, networkErrorCodes, rangeIgnored, storeError, type StoreErrorExplanation } from './store-errors.js';
import { batchRetryStrategy } from './s3-retry.js';
import { type StoreConventions, ZeebeLayoutStore } from './zeebe-layout-store.js';
import { readUpTo } from '../util/read-up-to.js';
import { requireCommonJs } from '../util/common-js.js';

const sdk = requireCommonJs('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

/** Beyond this many parallel downloads one host's disk and network are the limit, not S3. */
const maxParallelTransfers = 16;
/** The SDK retries throttling, 5xx and connection errors itself; this bounds its attempts per call. */
const apiCallAttempts = 5;
/** A TCP connect that takes longer than this will not succeed; don't wait a whole apiCallTimeout. */
const maxConnectTimeoutMs = 10_000;

/** S3 holds both layouts and S3 manifests (see StoreConventions). */
export const s3Conventions: StoreConventions = { layouts: ['v2', 'legacy'], dialect: 's3' };

/**
 * Zeebe's S3 store. Which layout holds a backup's files is decided per backup from the broker
 * version in its manifest, so one bucket may mix backups of old and new brokers.
 */
export class S3Store extends ZeebeLayoutStore {
  constructor(config: S3StoreConfig) {
    super(new S3Objects(config), s3Conventions);
  }
}

/** One S3 bucket below an optional base path, as objects: the SDK calls, retries and error mapping. */
export class S3Objects implements WritableObjectBackend {
  readonly description: string;
  readonly maxConcurrentTransfers: number;
  private readonly client: S3Client;
  private readonly bucket: string;
  /** The endpoint or region, for messages. */
  private readonly server: string;
  /** `''` or the configured basePath followed by one `/`. */
  private readonly base: string;
  private readonly encryption: Pick<GetObjectCommandInput, 'SSECustomerAlgorithm' | 'SSECustomerKey'>;
  /** Values that must never reach a message, even if a server echoes them back. */
  private readonly secrets: string[];

  constructor(config: S3StoreConfig) {
    this.bucket = config.bucketName;
    this.base = config.basePath ? `${config.basePath}/` : '';
    this.client = createClient(config);
    this.maxConcurrentTransfers = Math.min(config.maxConcurrentConnections, maxParallelTransfers);
    // The SDK adds the SSECustomerKeyMD5 header itself.
    this.encryption = config.ssecKey
      ? { SSECustomerAlgorithm: 'AES256', SSECustomerKey: validSsecKey(config.ssecKey) }
      : {};
    this.secrets = [config.accessKey, config.secretKey, config.ssecKey].filter((value): value is string => !!value);
    this.server = config.endpoint ? `endpoint ${withoutUserInfo(config.endpoint)}` : `region ${config.region ?? 'from the AWS default chain'}`;
    this.description = `S3 bucket ${this.bucket}${config.basePath ? ` under ${config.basePath}/` : ''} (${this.server})`;
  }

  locationOf(key: string): string {
    return this.base + key;
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    const fullPrefix = this.base + prefix;
    const pages = sdk.paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: fullPrefix });
    for (;;) {
      const page = await this.call('list', fullPrefix, () => pages.next());
      if (page.done) return;
      for (const { Key, Size } of page.value.Contents ?? []) {
        if (Key?.startsWith(this.base)) yield { key: Key.slice(this.base.length), ...(Size === undefined ? {} : { size: Size }) };
      }
    }
  }

  /**
   * A stream of the object's bytes (or of `range`) that resumes where a broken connection left off.
   * The SDK retries a request until its headers arrive, not a body that breaks off.
   */
  async read(relativeKey: string, { signal, range, checkSize }: ObjectReadOptions = {}): Promise<Readable> {
    const key = this.base + relativeKey;
    const start = range?.start ?? 0;
    const end = range ? `${range.end - 1}` : '';
    // The first request is made here so a missing object fails with its key, not mid-pipeline.
    const first = await this.get(key, range ? { Range: `bytes=${start}-${end}` } : {}, signal);
    if (range && !first.ContentRange?.startsWith(`bytes ${start}-`)) {
      bodyOf(first).destroy();
      throw rangeIgnored(this.description, key, start, first.ContentRange);
    }
    const size = first.ContentLength;
    if (size === undefined) {
      bodyOf(first).destroy();
      throw new StoreUnavailableError(`The ${this.description} did not report the size of ${key}.`);
    }
    try {
      checkSize?.(size);
    } catch (error) {
      bodyOf(first).destroy();
      throw error;
    }
    return resumableDownload({
      first: bodyOf(first),
      size,
      label: `s3://${this.bucket}/${key}`,
      ...(signal ? { signal } : {}),
      // If-Match: resuming must continue the same object, never splice in a replaced one.
      openAt: async (offset, resumeSignal) => {
        const rest = await this.get(key, { Range: `bytes=${start + offset}-${end}`, IfMatch: first.ETag }, resumeSignal);
        if (!rest.ContentRange?.startsWith(`bytes ${start + offset}-`)) {
          bodyOf(rest).destroy();
          throw rangeIgnored(this.description, key, start + offset, rest.ContentRange);
        }
        return bodyOf(rest);
      },
    });
  }

  async readHead(key: string, length: number, signal?: AbortSignal): Promise<Buffer> {
    const response = await this.get(this.base + key, { Range: `bytes=0-${length - 1}` }, signal);
    return readUpTo(bodyOf(response), length);
  }

  async size(relativeKey: string): Promise<number | undefined> {
    const key = this.base + relativeKey;
    const head = await this.call('inspect', key, () =>
      this.client.send(new sdk.HeadObjectCommand({ ...this.object(key), ...this.encryption })),
    );
    return head.ContentLength;
  }

  /**
   * One PUT with the body streamed (S3 takes up to 5 GiB so; larger objects fail with S3's
   * answer), encrypted with the SSE-C key when one is configured. S3 stores an object only
   * once all of it has arrived.
   */
  async write(relativeKey: string, body: Readable, size: number | undefined, signal?: AbortSignal): Promise<void> {
    const key = this.base + relativeKey;
    // Files keep their compression in an S3 store, so their size is always known.
    if (size === undefined) throw new Error(`The size of ${key} must be known to upload it to S3.`);
    await this.call('upload', key, () =>
      this.client.send(
        new sdk.PutObjectCommand({ ...this.object(key), Body: body, ContentLength: size, ...this.encryption }),
        signal ? { abortSignal: signal } : {},
      ),
    );
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private get(key: string, range: Pick<GetObjectCommandInput, 'Range' | 'IfMatch'>, signal?: AbortSignal) {
    return this.call('download', key, () =>
      this.client.send(
        new sdk.GetObjectCommand({ ...this.object(key), ...range, ...this.encryption }),
        signal ? { abortSignal: signal } : {},
      ),
    );
  }

  private object(key: string) {
    return { Bucket: this.bucket, Key: key };
  }

  /** Turns SDK and network errors into the agent's failure classes, with the bucket, key and what to check. */
  private call<T>(action: string, key: string, operation: () => Promise<T>): Promise<T> {
    return callStore(operation, (error) =>
      storeError(explain(error), `Could not ${action} s3://${this.bucket}/${key} (${this.server})`, this.secrets, error),
    );
  }
}

function createClient(config: S3StoreConfig): S3Client {
  if (!config.accessKey !== !config.secretKey) {
    const missing = config.accessKey ? 'secretKey' : 'accessKey';
    throw new UsageError(
      `backup.s3.${missing} is not set while its partner is. Set both accessKey and secretKey, or neither ` +
        `to use the AWS default credential chain.`,
    );
  }
  const agentOptions = { keepAlive: true, maxSockets: config.maxConcurrentConnections };
  return new sdk.S3Client({
    // An endpoint means MinIO or another S3-compatible server, which ignores the region but the
    // signer needs one; without an endpoint the SDK's chain (AWS_REGION, profile) decides.
    ...(config.region || config.endpoint ? { region: config.region ?? 'us-east-1' } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyleAccess,
    followRegionRedirects: true,
    // Without static keys the SDK's default chain applies: environment, shared config and profile,
    // web identity (EKS IRSA), SSO, container credentials (ECS, EKS Pod Identity), instance metadata.
    ...(config.accessKey && config.secretKey
      ? { credentials: { accessKeyId: config.accessKey, secretAccessKey: config.secretKey } }
      : {}),
    // Checksums only where S3 requires them: a streamed upload with a trailing checksum is
    // aws-chunked, which S3-compatible servers do not all understand; a copy reads every object
    // back and compares its CRC32C instead.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    maxAttempts: apiCallAttempts,
    retryStrategy: batchRetryStrategy({
      maxAttempts: apiCallAttempts,
      baseDelayMs: 500,
      throttlingBaseDelayMs: 1_000,
      maxDelayMs: 5_000,
    }),
    requestHandler: {
      // Until the response headers arrive; the body is guarded by the idle timeout and resumed.
      requestTimeout: config.apiCallTimeoutMs,
      throwOnRequestTimeout: true,
      connectionTimeout: Math.min(config.apiCallTimeoutMs, maxConnectTimeoutMs),
      socketTimeout: config.apiCallTimeoutMs,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    },
  });
}

function bodyOf(response: GetObjectCommandOutput): Readable {
  if (!(response.Body instanceof Readable)) throw new Error('The S3 client returned a body that is not a Node.js stream.');
  return response.Body;
}

/** Zeebe's ssecKey is a base64-encoded AES-256 key: exactly 32 bytes. */
function validSsecKey(key: string): string {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(key)) {
    throw new UsageError('backup.s3.ssecKey must be a base64-encoded 256-bit (32-byte) AES key, as the brokers use it.');
  }
  return key;
}

function withoutUserInfo(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return endpoint;
  }
}

const credentialsHint =
  'Check accessKey and secretKey, or the credentials the AWS default chain provides (AWS_ACCESS_KEY_ID and ' +
  'AWS_SECRET_ACCESS_KEY, AWS_PROFILE, AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN for EKS IRSA, ' +
  'container or instance role).';


/** The SDK names S3 errors by their S3 code (`NoSuchBucket`); network errors keep Node's `code`. */
function explain(error: unknown): StoreErrorExplanation {
  const message = error instanceof Error ? error.message : String(error);
  const code = errnoCode(error);
  // Answers without an S3 error document (to HEAD requests, or from a proxy) only have their status.
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  const named = error instanceof Error ? error.name : 'Error';
  const withoutCode = /^(Unknown|\d{3}$)/.test(named);
  const name = withoutCode && status === 403 ? 'Forbidden' : withoutCode && status === 404 ? 'NotFound' : named;
  switch (name) {
    case 'NoSuchKey':
    case 'NotFound':
      return { failure: 'backupInvalid', reason: 'the object does not exist', hint: 'The backup is incomplete or was partly deleted.' };
    case 'PreconditionFailed':
      return {
        failure: 'backupInvalid',
        reason: 'the object changed while it was being downloaded',
        hint: 'Something is writing to this backup; restore only from a backup nothing modifies.',
      };
    case 'NoSuchBucket':
      return {
        failure: 'storeUnavailable',
        reason: 'the bucket does not exist',
        hint: 'Check backup.s3.bucketName and, for S3-compatible servers, backup.s3.endpoint.',
      };
    case 'AccessDenied':
    case 'Forbidden':
    case 'AllAccessDisabled':
      return {
        failure: 'storeUnavailable',
        reason: `access was denied (${name})`,
        hint:
          'Check that the credentials in use may s3:ListBucket and s3:GetObject on this bucket and prefix and, if the ' +
          'backup was written with SSE-C, that backup.s3.ssecKey is the key it was written with.',
      };
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
    case 'ExpiredToken':
    case 'InvalidToken':
      return { failure: 'storeUnavailable', reason: `the credentials were rejected (${name})`, hint: credentialsHint };
    case 'CredentialsProviderError':
      return { failure: 'storeUnavailable', reason: 'no AWS credentials were found', hint: credentialsHint };
  }
  if ((code && networkErrorCodes.has(code)) || name === 'TimeoutError') {
    return {
      failure: 'storeUnavailable',
      reason: `the server could not be reached (${code ?? message})`,
      hint: 'Check backup.s3.endpoint or backup.s3.region and the network path to it (DNS, proxy, firewall).',
    };
  }
  if (/region is missing/i.test(message)) {
    return { failure: 'storeUnavailable', reason: 'no AWS region is configured', hint: 'Set backup.s3.region or AWS_REGION.' };
  }
  const reason =
    status === undefined
      ? `${name}: ${message}`
      : withoutCode
        ? `the server answered HTTP ${status} without an error code`
        : `${name} (HTTP ${status}): ${message}`;
  return { failure: 'storeUnavailable', reason, hint: 'Check the S3 settings and the server.' };
}
