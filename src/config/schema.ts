import { z } from 'zod';
import { rdbmsVendorIds, type RestoreConfig } from './restore-config.js';

/**
 * The rules the broker enforces on its own configuration, checked on the assembled object so that
 * every violation is reported at once. Conversion from text happens earlier, in the parsers.
 */

const naturalNumber = z.number().int().min(0, 'must not be negative');
const positiveNumber = z.number().int().min(1, 'must be at least 1');
const durationMs = z.number().min(0, 'must not be negative');
const nonEmpty = z.string().min(1, 'must not be empty');

const fixedPartition = z.object({
  partitionId: positiveNumber,
  nodes: z.array(z.object({ nodeId: naturalNumber, priority: naturalNumber.optional() })),
});

const storeConfig = z.discriminatedUnion('type', [
  z.object({ type: z.literal('NONE') }),
  z.object({ type: z.literal('FILESYSTEM'), basePath: nonEmpty }),
  z.object({
    type: z.literal('S3'),
    bucketName: nonEmpty,
    basePath: z.string().optional(),
    region: z.string().optional(),
    endpoint: z.string().optional(),
    accessKey: z.string().optional(),
    secretKey: z.string().optional(),
    forcePathStyleAccess: z.boolean(),
    apiCallTimeoutMs: durationMs,
    compression: z.string().optional(),
    maxConcurrentConnections: positiveNumber,
    connectionAcquisitionTimeoutMs: durationMs,
    supportLegacyMd5: z.boolean(),
    ssecKey: z.string().optional(),
  }),
  z.object({
    type: z.literal('GCS'),
    bucketName: nonEmpty,
    basePath: z.string().optional(),
    host: z.string().optional(),
    auth: z.enum(['auto', 'none']),
  }),
  z.object({
    type: z.literal('AZURE'),
    endpoint: z.string().optional(),
    accountName: z.string().optional(),
    accountKey: z.string().optional(),
    connectionString: z.string().optional(),
    basePath: z.string().optional(),
    createContainer: z.boolean(),
    sasToken: z.object({ type: z.enum(['delegation', 'service', 'account']), value: nonEmpty }).optional(),
  }),
]);

const secondaryStorage = z.discriminatedUnion('type', [
  z.object({ type: z.enum(['elasticsearch', 'opensearch', 'none']) }),
  z.object({
    type: z.literal('rdbms'),
    // The URL is judged when the database is read: a restore by backup id never needs it.
    url: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    // Camunda puts the prefix into its SQL verbatim; only characters of plain table names are safe there.
    prefix: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_]*$/, 'must consist of letters, digits and _ only: it is put in front of the table names')
      .optional(),
    databaseVendorId: z.enum(rdbmsVendorIds).optional(),
  }),
]);

export const restoreConfigSchema = z.object({
  nodeId: naturalNumber,
  clusterSize: positiveNumber,
  partitionCount: positiveNumber,
  replicationFactor: positiveNumber,
  dataDirectory: nonEmpty,
  partitioning: z.discriminatedUnion('scheme', [
    z.object({ scheme: z.literal('ROUND_ROBIN') }),
    z.object({ scheme: z.literal('FIXED'), fixed: z.array(fixedPartition) }),
  ]),
  nodeIdProvider: z.enum(['FIXED', 'STATIC', 'NONE', 'S3']),
  backupStore: storeConfig,
  secondaryStorage,
  restore: z.object({ validateConfig: z.boolean(), ignoreFilesInTarget: z.array(z.string()) }),
}) satisfies z.ZodType<RestoreConfig>;
