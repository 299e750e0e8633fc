import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Storage } from '@google-cloud/storage';
import { type BackupObject, type PartitionBackup, writeCommonBackup } from '../../src/demo/common-manifest.js';

/** A client of the test emulator; it sends no credentials to a custom endpoint. */
export function gcsTestClient(endpoint: string): Storage {
  return new Storage({ apiEndpoint: endpoint, projectId: 'demo-test' });
}

/** The emulator creates a bucket with its first object (it cannot create buckets): a fresh name is a fresh bucket. */
export function newBucketName(): string {
  return `backups-${randomUUID().slice(0, 13)}`;
}

/** Writes one object as the broker does (single-request uploads: the emulator cannot do chunked ones). */
export async function putGcsObject(storage: Storage, bucketName: string, object: BackupObject): Promise<void> {
  const bucket = storage.bucket(bucketName);
  await ('source' in object
    ? bucket.upload(object.source, { destination: object.key, resumable: false })
    : bucket.file(object.key).save(object.text, { resumable: false }));
}

/** Uploads one partition's backup exactly as the broker's GCS store writes it, below `basePath/` if given. */
export async function uploadGcsBackup(storage: Storage, bucketName: string, backup: PartitionBackup, basePath?: string): Promise<void> {
  const base = basePath ? `${basePath}/` : '';
  await writeCommonBackup(backup, (object) => putGcsObject(storage, bucketName, { ...object, key: base + object.key }));
}

export interface TestHttpServer {
  endpoint: string;
  /** The paths of the requests it answered, with their `Authorization` headers. */
  requests: { path: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that records what it is asked. */
async function startTestHttpServer(answer: (request: IncomingMessage, response: ServerResponse) => void): Promise<TestHttpServer> {
  const requests: TestHttpServer['requests'] = [];
  const server = createServer((request, response) => {
    requests.push({ path: request.url ?? '/', authorization: request.headers.authorization });
    request.resume();
    answer(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Answers every request with one GCS JSON API error, as GCS itself does for a bucket that does not
 * exist (404) or an identity without access (403). The emulator cannot: it has every bucket and
 * admits everyone.
 */
export function startGcsErrorServer(status: number, message: string): Promise<TestHttpServer> {
  const reason = status === 404 ? 'notFound' : 'forbidden';
  const body = JSON.stringify({ error: { code: status, message, errors: [{ message, domain: 'global', reason }] } });
  return startTestHttpServer((_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(body);
  });
}

/**
 * The metadata server as GKE Workload Identity presents it to a pod (GCE_METADATA_HOST points
 * the Google client libraries at it): Application Default Credentials find it and get the access
 * token of the Google service account the pod's Kubernetes service account is bound to.
 */
export function startGkeMetadataServer(accessToken: string): Promise<TestHttpServer> {
  return startTestHttpServer((request, response) => {
    const headers = { 'metadata-flavor': 'Google', 'content-type': 'application/json' };
    if (request.headers['metadata-flavor'] !== 'Google') {
      response.writeHead(403, headers).end();
    } else if (request.url?.startsWith('/computeMetadata/v1/instance/service-accounts/default/token')) {
      response.writeHead(200, headers).end(JSON.stringify({ access_token: accessToken, expires_in: 3599, token_type: 'Bearer' }));
    } else if (request.url === '/computeMetadata/v1/instance' || request.url?.startsWith('/computeMetadata/v1/instance?')) {
      response.writeHead(200, headers).end('{}');
    } else {
      response.writeHead(404, headers).end();
    }
  });
}
