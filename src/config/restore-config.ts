import type { PlaceholderUse } from './placeholders.js';

/**
 * The settings the restore needs, resolved from defaults, the broker's YAML file and environment
 * variables exactly as the broker on the same node resolves them.
 */
export interface RestoreConfig {
  nodeId: number;
  clusterSize: number;
  partitionCount: number;
  replicationFactor: number;
  /** Absolute path (a relative setting is resolved against the working directory). */
  dataDirectory: string;
  partitioning: PartitioningConfig;
  /** How the broker gets its node id: fixed (from the configuration) or leased from S3 (8.9). */
  nodeIdProvider: NodeIdProviderType;
  backupStore: StoreConfig;
  /** Camunda's secondary storage; only an RDBMS matters to a restore (its exported positions). */
  secondaryStorage: SecondaryStorageConfig;
  restore: {
    validateConfig: boolean;
    ignoreFilesInTarget: string[];
  };
}

export type NodeIdProviderType = 'FIXED' | 'STATIC' | 'NONE' | 'S3';

export type PartitioningConfig =
  | { scheme: 'ROUND_ROBIN' }
  | { scheme: 'FIXED'; fixed: FixedPartition[] };

export interface FixedPartition {
  partitionId: number;
  nodes: { nodeId: number; priority?: number }[];
}

export type StoreConfig =
  | { type: 'NONE' }
  | FilesystemStoreConfig
  | S3StoreConfig
  | GcsStoreConfig
  | AzureStoreConfig;

export interface FilesystemStoreConfig {
  type: 'FILESYSTEM';
  /** Absolute path. */
  basePath: string;
}

export interface S3StoreConfig {
  type: 'S3';
  bucketName: string;
  basePath?: string;
  region?: string;
  endpoint?: string;
  accessKey?: string;
  secretKey?: string;
  forcePathStyleAccess: boolean;
  apiCallTimeoutMs: number;
  /** undefined when compression is off (`none`). Only matters for writers; reads follow the manifest. */
  compression?: string;
  maxConcurrentConnections: number;
  connectionAcquisitionTimeoutMs: number;
  supportLegacyMd5: boolean;
  ssecKey?: string;
}

export interface GcsStoreConfig {
  type: 'GCS';
  bucketName: string;
  basePath?: string;
  host?: string;
  auth: 'auto' | 'none';
}

export interface AzureStoreConfig {
  type: 'AZURE';
  endpoint?: string;
  accountName?: string;
  accountKey?: string;
  connectionString?: string;
  /** The container name. */
  basePath?: string;
  createContainer: boolean;
  sasToken?: { type: 'delegation' | 'service' | 'account'; value: string };
}

export const secondaryStorageTypes = ['elasticsearch', 'opensearch', 'rdbms', 'none'] as const;

export type SecondaryStorageType = (typeof secondaryStorageTypes)[number];

export type SecondaryStorageConfig = { type: Exclude<SecondaryStorageType, 'rdbms'> } | RdbmsConfig;

/** The vendors Camunda's `database-vendor-id` accepts (`RdbmsDatabaseIdProvider`). */
export const rdbmsVendorIds = ['h2', 'postgresql', 'oracle', 'mariadb', 'mysql', 'mssql'] as const;

export interface RdbmsConfig {
  type: 'rdbms';
  /** The JDBC URL the broker's DataSource uses; read only by a restore that consults the database. */
  url?: string;
  username?: string;
  password?: string;
  /** Put verbatim in front of every table name (`c8_` → `c8_EXPORTER_POSITION`), trimmed as Camunda does. */
  prefix?: string;
  databaseVendorId?: (typeof rdbmsVendorIds)[number];
}

/** Where the winning value of one setting came from, for `--print-config`. */
export interface SettingOrigin {
  /** The setting, e.g. `cluster.nodeId` or `backup.s3.bucketName`. */
  setting: string;
  /** The key as written by the user, e.g. `ZEEBE_BROKER_CLUSTER_NODEID` or `camunda.cluster.node-id`. */
  key: string;
  /** `default`, `environment`, or the YAML file's path. */
  source: string;
  /** Display value, with secrets already masked. */
  value: string;
  /** The names looked up for the placeholders in the written value, in order (no values). */
  placeholders?: PlaceholderUse[];
  /** The value as written, when it has placeholders; left out for secrets. */
  written?: string;
  /**
   * For a setting left at its default although a key was written: the key whose value resolved to
   * empty through placeholders (Helm's `${VALUES_ORCHESTRATION_NODE_ID:}` with the variable unset).
   */
  blank?: { key: string; source: string; placeholders: PlaceholderUse[] };
}

export interface LoadedConfig {
  config: RestoreConfig;
  origins: SettingOrigin[];
  /** Things the user should know, e.g. a unified key overriding a legacy one. */
  warnings: string[];
}
