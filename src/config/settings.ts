import { kebabCase } from './keys.js';
import { absolutePath, boolean, durationMs, integer, oneOf, text, textList, textOrNone, type ValueParser } from './parsers.js';
import { maskUrlCredentials } from './mask-url-credentials.js';
import { type NodeIdProviderType, rdbmsVendorIds, type SecondaryStorageType, secondaryStorageTypes, type StoreConfig } from './restore-config.js';

/**
 * One setting the restore reads. Keys are listed newest generation first: 8.9 unified, 8.8
 * unified, then legacy `zeebe.*`. The first key present in any source wins, so a unified key
 * beats a legacy one even when the legacy one comes from the environment, as in Zeebe.
 */
export interface Setting<T = unknown> {
  /** The name used by `--print-config` and messages, e.g. `backup.s3.bucketName`. */
  name: string;
  keys: readonly string[];
  parser: ValueParser<T>;
  /** Written like user input and parsed the same way, so defaults cannot drift from the parser. */
  default?: string;
  /** Never shown: masked in `--print-config`, left out of error messages. */
  secret?: boolean;
  /** For a value that may embed a secret (a JDBC URL's password): the text to show instead. */
  redact?: (text: string) => string;
  /** Dotted path of the value in `RestoreConfig`. */
  target: string;
}

/** An indexed list of objects; a whole list comes from one source, as Spring replaces lists whole. */
export interface ListSetting {
  name: string;
  keys: readonly string[];
  target: string;
}

/** A field of a unified (`camunda.*`) key is kebab-case; legacy keys keep Zeebe's camelCase. */
export function fieldKey(prefix: string, field: string): string {
  return `${prefix}.${prefix.startsWith('camunda.') ? kebabCase(field) : field}`;
}

export const nodeIdSetting: Setting<number> = {
  name: 'cluster.nodeId',
  keys: ['camunda.cluster.node-id', 'zeebe.broker.cluster.nodeId'],
  parser: integer,
  default: '0',
  target: 'nodeId',
};

export const partitioningSchemes = ['ROUND_ROBIN', 'FIXED'] as const;

export const partitioningSchemeSetting: Setting<(typeof partitioningSchemes)[number]> = {
  name: 'cluster.partitioning.scheme',
  keys: ['camunda.cluster.partitioning.scheme', 'zeebe.broker.experimental.partitioning.scheme'],
  parser: oneOf(partitioningSchemes),
  default: 'ROUND_ROBIN',
  target: 'partitioning.scheme',
};

export const fixedPartitionsSetting: ListSetting = {
  name: 'cluster.partitioning.fixed',
  keys: ['camunda.cluster.partitioning.fixed', 'zeebe.broker.experimental.partitioning.fixed'],
  target: 'partitioning.fixed',
};

export type StoreType = StoreConfig['type'];

const storeTypes = ['NONE', 'S3', 'GCS', 'AZURE', 'FILESYSTEM'] as const satisfies readonly StoreType[];

const backupPrefixes = ['camunda.data.primary-storage.backup', 'camunda.data.backup', 'zeebe.broker.data.backup'];

const backupKeys = (field: string): string[] => backupPrefixes.map((prefix) => fieldKey(prefix, field));

export const storeTypeSetting: Setting<StoreType> = {
  name: 'backup.store',
  keys: backupKeys('store'),
  parser: oneOf(storeTypes),
  default: 'NONE',
  target: 'backupStore.type',
};

/**
 * 8.9's `camunda.cluster.node-id-provider.type` (`NodeIdProvider`: FIXED, the default, or S3); an
 * earlier build named it `camunda.cluster.dynamic-node-id.type` (`none`), and one STATIC for FIXED.
 */
export const nodeIdProviderSetting: Setting<NodeIdProviderType> = {
  name: 'cluster.nodeIdProvider.type',
  keys: ['camunda.cluster.node-id-provider.type', 'camunda.cluster.dynamic-node-id.type'],
  parser: oneOf(['FIXED', 'STATIC', 'NONE', 'S3']),
  default: 'FIXED',
  target: 'nodeIdProvider',
};

/**
 * Settings every restore reads. The partitioning scheme and the store type are resolved on their
 * own because they decide what else is read.
 */
export const clusterSettings: readonly Setting[] = [
  nodeIdSetting,
  nodeIdProviderSetting,
  {
    name: 'cluster.size',
    keys: ['camunda.cluster.size', 'zeebe.broker.cluster.clusterSize'],
    parser: integer,
    default: '1',
    target: 'clusterSize',
  },
  {
    name: 'cluster.partitionCount',
    keys: ['camunda.cluster.partition-count', 'zeebe.broker.cluster.partitionsCount'],
    parser: integer,
    default: '1',
    target: 'partitionCount',
  },
  {
    name: 'cluster.replicationFactor',
    keys: ['camunda.cluster.replication-factor', 'zeebe.broker.cluster.replicationFactor'],
    parser: integer,
    default: '1',
    target: 'replicationFactor',
  },
  {
    name: 'data.directory',
    keys: ['camunda.data.primary-storage.directory', 'zeebe.broker.data.directory'],
    parser: absolutePath,
    default: 'data',
    target: 'dataDirectory',
  },
  {
    name: 'restore.validateConfig',
    keys: ['camunda.system.restore.validate-config', 'zeebe.restore.validateConfig'],
    parser: boolean,
    default: 'true',
    target: 'restore.validateConfig',
  },
  {
    name: 'restore.ignoreFilesInTarget',
    keys: ['camunda.system.restore.ignore-files-in-target', 'zeebe.restore.ignoreFilesInTarget'],
    parser: textList,
    default: 'lost+found',
    target: 'restore.ignoreFilesInTarget',
  },
];

function storeSetting<T>(
  section: string,
  field: string,
  parser: ValueParser<T>,
  options: { default?: string; secret?: boolean; target?: string } = {},
): Setting<T> {
  const { target = field, ...rest } = options;
  return {
    name: `backup.${section}.${field}`,
    keys: backupKeys(`${section}.${field}`),
    parser,
    target: `backupStore.${target}`,
    ...rest,
  };
}

/** The section of each store type; only the chosen store's section is read. */
export const storeSettings: Record<StoreType, readonly Setting[]> = {
  NONE: [],
  S3: [
    storeSetting('s3', 'bucketName', text),
    storeSetting('s3', 'basePath', text),
    storeSetting('s3', 'region', text),
    storeSetting('s3', 'endpoint', text),
    storeSetting('s3', 'accessKey', text, { secret: true }),
    storeSetting('s3', 'secretKey', text, { secret: true }),
    storeSetting('s3', 'forcePathStyleAccess', boolean, { default: 'false' }),
    storeSetting('s3', 'apiCallTimeout', durationMs, { default: 'PT180S', target: 'apiCallTimeoutMs' }),
    storeSetting('s3', 'compression', textOrNone, { default: 'none' }),
    storeSetting('s3', 'maxConcurrentConnections', integer, { default: '50' }),
    storeSetting('s3', 'connectionAcquisitionTimeout', durationMs, {
      default: '45s',
      target: 'connectionAcquisitionTimeoutMs',
    }),
    storeSetting('s3', 'supportLegacyMd5', boolean, { default: 'false' }),
    storeSetting('s3', 'ssecKey', text, { secret: true }),
  ],
  GCS: [
    storeSetting('gcs', 'bucketName', text),
    storeSetting('gcs', 'basePath', text),
    storeSetting('gcs', 'host', text),
    storeSetting('gcs', 'auth', oneOf(['auto', 'none']), { default: 'auto' }),
  ],
  AZURE: [
    storeSetting('azure', 'endpoint', text),
    storeSetting('azure', 'accountName', text),
    storeSetting('azure', 'accountKey', text, { secret: true }),
    storeSetting('azure', 'connectionString', textOrNone, { secret: true }),
    storeSetting('azure', 'basePath', text),
    storeSetting('azure', 'createContainer', boolean, { default: 'true' }),
    storeSetting('azure', 'sasToken.type', oneOf(['delegation', 'service', 'account'])),
    storeSetting('azure', 'sasToken.value', text, { secret: true }),
  ],
  FILESYSTEM: [storeSetting('filesystem', 'basePath', absolutePath)],
};

/**
 * Camunda 8.9's `camunda.data.secondary-storage.type` (`SecondaryStorage`), and the 8.7/8.8 key
 * `camunda.database.type` that selected the RDBMS before it.
 */
export const secondaryStorageTypeSetting: Setting<SecondaryStorageType> = {
  name: 'secondaryStorage.type',
  keys: ['camunda.data.secondary-storage.type', 'camunda.database.type'],
  parser: oneOf(secondaryStorageTypes),
  default: 'elasticsearch',
  target: 'secondaryStorage.type',
};

function rdbmsSetting<T>(
  field: string,
  legacyKeys: string[],
  parser: ValueParser<T>,
  options: { secret?: boolean; redact?: (text: string) => string } = {},
): Setting<T> {
  return {
    name: `secondaryStorage.rdbms.${field}`,
    keys: [fieldKey('camunda.data.secondary-storage.rdbms', field), ...legacyKeys],
    parser,
    target: `secondaryStorage.${field}`,
    ...options,
  };
}

/**
 * The connection to the RDBMS, read only when it is the secondary storage. 8.9 binds
 * `camunda.data.secondary-storage.rdbms.*`; 8.7/8.8 configurations set `camunda.database.*` and
 * Spring's `spring.datasource.*`, which the broker's DataSource read before the unified keys existed.
 */
export const secondaryStorageSettings: Record<SecondaryStorageType, readonly Setting[]> = {
  elasticsearch: [],
  opensearch: [],
  none: [],
  rdbms: [
    rdbmsSetting('url', ['camunda.database.url', 'spring.datasource.url'], text, { redact: maskUrlCredentials }),
    rdbmsSetting('username', ['camunda.database.username', 'spring.datasource.username'], text),
    rdbmsSetting('password', ['camunda.database.password', 'spring.datasource.password'], text, { secret: true }),
    rdbmsSetting('prefix', ['camunda.database.prefix', 'camunda.database.index-prefix'], text),
    rdbmsSetting('databaseVendorId', ['camunda.database.database-vendor-id'], oneOf(rdbmsVendorIds)),
  ],
};
