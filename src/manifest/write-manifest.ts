import { jsonLong } from './lossless-json.js';
import type { BackupDescriptor, BackupFile, BackupManifest } from './manifest.js';
import { epochSecondsFromIso } from './timestamps.js';

/**
 * A manifest as brokers write it (backup-store-format.md §2), so that brokers and
 * `GET actuator/backups` of the store it is written to take it for their own:
 *
 * - `common`: GCS, Azure and filesystem stores: upper-case status, `{ name }` lists, absent values
 *   omitted, ISO timestamps, no compression (those stores hold raw files);
 * - `s3`: lower-case status, file sets keyed by name with their compression, nulls for absent
 *   values; instants as epoch seconds with nanoseconds for brokers up to 8.8 (`s3-epoch-seconds`),
 *   as ISO strings from 8.9 on (`s3-iso`).
 */
export type ManifestDialect = 'common' | 's3-epoch-seconds' | 's3-iso';

export function manifestJson(manifest: BackupManifest, dialect: ManifestDialect): string {
  return JSON.stringify(manifestObject(manifest, dialect));
}

/** The manifest's JSON value, longs embedded as raw JSON numbers: what manifestJson writes. */
export function manifestObject(manifest: BackupManifest, dialect: ManifestDialect): Record<string, unknown> {
  return dialect === 'common' ? commonManifest(manifest) : s3Manifest(manifest, dialect);
}

function commonManifest(manifest: BackupManifest): Record<string, unknown> {
  const names = (files: BackupFile[]) => ({ files: files.map(({ name }) => ({ name })) });
  const hasFiles = manifest.descriptor || manifest.status !== 'FAILED';
  return {
    id: idOf(manifest),
    ...(manifest.descriptor ? { descriptor: descriptorJson(manifest.descriptor, omit) } : {}),
    statusCode: manifest.status,
    ...(manifest.failureReason !== undefined ? { failureReason: manifest.failureReason } : {}),
    ...(hasFiles ? { snapshot: names(manifest.snapshotFiles), segments: names(manifest.segmentFiles) } : {}),
    ...(manifest.createdAt !== undefined ? { createdAt: manifest.createdAt } : {}),
    ...(manifest.modifiedAt !== undefined ? { modifiedAt: manifest.modifiedAt } : {}),
  };
}

/**
 * S3 manifests of brokers up to 8.8 carry no `firstLogPosition`, `checkpointTimestamp` or
 * `checkpointType`; those of 8.9 write all three, null where unknown.
 */
function s3Manifest(manifest: BackupManifest, dialect: 's3-epoch-seconds' | 's3-iso'): Record<string, unknown> {
  const instant = (iso: string | undefined) =>
    iso === undefined ? null : dialect === 's3-iso' ? iso : JSON.rawJSON(epochSecondsFromIso(iso));
  const fileSet = (files: BackupFile[]) => ({
    files: Object.fromEntries(files.map(({ name, compression }) => [name, compression ? { compressionAlgorithm: compression } : {}])),
  });
  const { descriptor } = manifest;
  return {
    id: idOf(manifest),
    descriptor: descriptor ? descriptorJson(descriptor, nullIfAbsent, dialect === 's3-iso') : null,
    statusCode: manifest.status.toLowerCase(),
    failureReason: manifest.failureReason ?? null,
    snapshotFiles: fileSet(manifest.snapshotFiles),
    segmentFiles: fileSet(manifest.segmentFiles),
    createdAt: instant(manifest.createdAt),
    modifiedAt: instant(manifest.modifiedAt),
  };
}

function idOf({ nodeId, partitionId, checkpointId }: BackupManifest) {
  return { nodeId, partitionId, checkpointId: jsonLong(checkpointId) };
}

type Absent = (name: string, value: unknown) => Record<string, unknown>;

const omit: Absent = (name, value) => (value === undefined ? {} : { [name]: value });
const nullIfAbsent: Absent = (name, value) => ({ [name]: value ?? null });

/** The descriptor's fields; those 8.9 added only where they are known or, with `since89`, always. */
function descriptorJson(descriptor: BackupDescriptor, absent: Absent, since89 = false): Record<string, unknown> {
  const long = (value: bigint | undefined) => (value === undefined ? undefined : jsonLong(value));
  const newer = since89 || descriptor.firstLogPosition !== undefined || descriptor.checkpointTimestamp !== undefined || descriptor.checkpointType !== undefined;
  return {
    ...absent('snapshotId', descriptor.snapshotId),
    checkpointPosition: jsonLong(descriptor.checkpointPosition),
    numberOfPartitions: descriptor.numberOfPartitions,
    brokerVersion: descriptor.brokerVersion,
    ...(newer
      ? {
          ...absent('firstLogPosition', long(descriptor.firstLogPosition)),
          ...absent('checkpointTimestamp', descriptor.checkpointTimestamp),
          ...absent('checkpointType', descriptor.checkpointType),
        }
      : {}),
  };
}
