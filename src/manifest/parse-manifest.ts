import { z } from 'zod';
import { BackupInvalidError } from '../errors.js';
import { jsonNumber, long } from './json-schemas.js';
import { parseJsonLossless } from './lossless-json.js';
import type { BackupFile, BackupManifest, BackupStatus } from './manifest.js';
import { isoFromEpochMillis, isoFromEpochSeconds } from './timestamps.js';
import { isSafeFileName } from './safe-names.js';

/**
 * Reads both manifest dialects (backup-store-format.md §2): the S3 one (lower-case status, file
 * sets as objects or 8.1 name arrays, nulls) and the common one of GCS, Azure and filesystem
 * stores (upper-case status, `{ name }` lists, omitted fields). Unknown fields are ignored.
 */

const int = long.transform((value, ctx) => {
  if (value < 0n || value > 2_147_483_647n) {
    ctx.addIssue({ code: 'custom', message: `expected a non-negative int, got ${value}` });
    return z.NEVER;
  }
  return Number(value);
});

const instant = z.union([
  z.string(),
  jsonNumber.transform((value) => isoFromEpochSeconds(value.source)),
]);

const checkpointTimestamp = z.union([
  z.string(),
  jsonNumber.transform((value) => isoFromEpochMillis(value.source)),
]);

const optional = <T extends z.ZodType>(schema: T) =>
  schema.nullish().transform((value) => value ?? undefined);

const status = z
  .string()
  .transform((value) => value.toUpperCase())
  .pipe(z.enum(['IN_PROGRESS', 'COMPLETED', 'FAILED', 'DELETED']));

const unsafeNameMessage = (name: string) =>
  `unsafe file name ${JSON.stringify(name)}: it must be a plain file name without path separators`;

const fileName = z.string().superRefine((name, ctx) => {
  if (!isSafeFileName(name)) ctx.addIssue({ code: 'custom', message: unsafeNameMessage(name) });
});

/** S3: `{ "files": { "<name>": {} | { "compressionAlgorithm": "zstd" } } }`. */
const s3FileSet = z
  .object({
    files: z.record(z.string(), optional(z.object({ compressionAlgorithm: optional(z.string()) }))),
  })
  // Checked here rather than as the record's key schema, whose failure only says "Invalid key in record".
  .superRefine(({ files }, ctx) => {
    for (const name of Object.keys(files)) {
      if (!isSafeFileName(name)) ctx.addIssue({ code: 'custom', path: ['files', name], message: unsafeNameMessage(name) });
    }
  })
  .transform(({ files }) =>
    Object.entries(files).map(([name, meta]): BackupFile =>
      meta?.compressionAlgorithm ? { name, compression: meta.compressionAlgorithm } : { name },
    ),
  );

/** 8.1 S3: a plain array of names. */
const nameArray = z.array(fileName).transform((names) => names.map((name): BackupFile => ({ name })));

/** Common dialect: `{ "files": [ { "name": "…" } ] }`. */
const commonFileSet = z
  .object({ files: z.array(z.object({ name: fileName })) })
  .transform(({ files }) => files.map(({ name }): BackupFile => ({ name })));

const descriptor = z.object({
  snapshotId: optional(fileName),
  checkpointPosition: long,
  numberOfPartitions: int,
  brokerVersion: z.string(),
  firstLogPosition: optional(long),
  checkpointTimestamp: optional(checkpointTimestamp),
  checkpointType: optional(z.string()),
});

const manifestSchema = z.object({
  id: z.object({ nodeId: int, partitionId: int, checkpointId: long }),
  statusCode: status,
  failureReason: optional(z.string()),
  descriptor: optional(descriptor),
  snapshotFiles: optional(s3FileSet),
  segmentFiles: optional(s3FileSet),
  snapshotFileNames: optional(nameArray),
  segmentFileNames: optional(nameArray),
  snapshot: optional(commonFileSet),
  segments: optional(commonFileSet),
  createdAt: optional(instant),
  modifiedAt: optional(instant),
});

/**
 * A partition backup lists a snapshot's files (tens to a few thousand SST files) and its log
 * segments (128 MiB each by default): 100 000 files would be terabytes. Anything larger is broken
 * or hostile, and is refused before it costs memory and time.
 */
export const maxManifestFiles = 100_000;
/** 100 000 file entries with compression metadata take about 7 MiB of JSON. */
export const maxManifestBytes = 32 * 1024 * 1024;

export function manifestTooLargeError(location: string, bytes: number): BackupInvalidError {
  return new BackupInvalidError(
    `Backup manifest ${location} is ${bytes} bytes long, more than the ${maxManifestBytes} bytes any partition ` +
      `backup's manifest needs; it is broken or was tampered with.`,
  );
}

export function parseManifest(text: string, location: string): BackupManifest {
  const bytes = Buffer.byteLength(text);
  if (bytes > maxManifestBytes) throw manifestTooLargeError(location, bytes);
  let json: unknown;
  try {
    json = parseJsonLossless(text);
  } catch (error) {
    throw new BackupInvalidError(
      `Backup manifest ${location} is not valid JSON: ${(error as Error).message}.`,
    );
  }
  const listed = listedFileCount(json);
  if (listed > maxManifestFiles) {
    throw new BackupInvalidError(
      `Backup manifest ${location} lists ${listed} files, more than the ${maxManifestFiles} any partition backup ` +
        `holds; it is broken or was tampered with.`,
    );
  }
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new BackupInvalidError(`Backup manifest ${location} is malformed: ${problems}.`);
  }
  const raw = result.data;
  const manifest: BackupManifest = {
    nodeId: raw.id.nodeId,
    partitionId: raw.id.partitionId,
    checkpointId: raw.id.checkpointId,
    status: raw.statusCode as BackupStatus,
    snapshotFiles: raw.snapshotFiles ?? raw.snapshotFileNames ?? raw.snapshot ?? [],
    segmentFiles: raw.segmentFiles ?? raw.segmentFileNames ?? raw.segments ?? [],
  };
  if (raw.failureReason !== undefined) manifest.failureReason = raw.failureReason;
  if (raw.descriptor) manifest.descriptor = withoutUndefined(raw.descriptor);
  if (raw.createdAt !== undefined) manifest.createdAt = raw.createdAt;
  if (raw.modifiedAt !== undefined) manifest.modifiedAt = raw.modifiedAt;
  rejectDuplicateNames(manifest.snapshotFiles, 'snapshot', location);
  rejectDuplicateNames(manifest.segmentFiles, 'segment', location);
  return manifest;
}

/** Counted on the raw JSON, before validation, whose cost grows with the number of entries. */
function listedFileCount(json: unknown): number {
  if (!json || typeof json !== 'object') return 0;
  const fields = json as Record<string, unknown>;
  let count = 0;
  for (const name of ['snapshotFiles', 'segmentFiles', 'snapshot', 'segments', 'snapshotFileNames', 'segmentFileNames']) {
    const value = fields[name];
    const files = Array.isArray(value) ? value : value && typeof value === 'object' ? (value as { files?: unknown }).files : undefined;
    if (Array.isArray(files)) count += files.length;
    else if (files && typeof files === 'object') count += Object.keys(files).length;
  }
  return count;
}

function rejectDuplicateNames(files: BackupFile[], kind: string, location: string): void {
  const seen = new Set<string>();
  for (const { name } of files) {
    if (seen.has(name)) {
      throw new BackupInvalidError(
        `Backup manifest ${location} lists the ${kind} file ${JSON.stringify(name)} twice.`,
      );
    }
    seen.add(name);
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** A manifest found under one key must describe exactly that partition, backup and node. */
export function parseManifestFor(
  text: string,
  expected: { partitionId: number; checkpointId: bigint; nodeId: number; location: string },
): BackupManifest {
  const manifest = parseManifest(text, expected.location);
  const { partitionId, checkpointId, nodeId } = manifest;
  if (
    partitionId !== expected.partitionId ||
    checkpointId !== expected.checkpointId ||
    nodeId !== expected.nodeId
  ) {
    throw new BackupInvalidError(
      `Backup manifest ${expected.location} describes partition ${partitionId}, backup ${checkpointId}, ` +
        `node ${nodeId}, but its key says partition ${expected.partitionId}, backup ${expected.checkpointId}, ` +
        `node ${expected.nodeId}. The backup store has been altered; do not restore from it.`,
    );
  }
  return manifest;
}
