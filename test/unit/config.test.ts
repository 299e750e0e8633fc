import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDurationMs } from '../../src/config/duration.js';
import { loadConfig } from '../../src/config/load-config.js';
import { renderConfig } from '../../src/config/print-config.js';
import type { LoadedConfig } from '../../src/config/restore-config.js';
import { UsageError } from '../../src/errors.js';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A broker working directory, optionally with `config/application.yaml`. */
function brokerDir(applicationYaml?: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'restore-config-'));
  dirs.push(dir);
  if (applicationYaml !== undefined) writeYaml(dir, 'config/application.yaml', applicationYaml);
  return dir;
}

function writeYaml(dir: string, relative: string, content: string): string {
  const file = path.join(dir, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

function load(cwd: string, env: NodeJS.ProcessEnv = {}, configFile?: string): LoadedConfig {
  return loadConfig({ cwd, env, ...(configFile === undefined ? {} : { configFile }) });
}

function loadError(cwd: string, env: NodeJS.ProcessEnv = {}, configFile?: string): UsageError {
  try {
    load(cwd, env, configFile);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected loadConfig to fail');
}

function origin(loaded: LoadedConfig, setting: string) {
  return loaded.origins.find((o) => o.setting === setting);
}

describe('loadConfig', () => {
  it('uses the built-in defaults when nothing is configured', () => {
    const cwd = brokerDir();
    const loaded = load(cwd);
    expect(loaded.config).toEqual({
      nodeId: 0,
      clusterSize: 1,
      partitionCount: 1,
      replicationFactor: 1,
      dataDirectory: path.join(cwd, 'data'),
      partitioning: { scheme: 'ROUND_ROBIN' },
      nodeIdProvider: 'FIXED',
      backupStore: { type: 'NONE' },
      secondaryStorage: { type: 'elasticsearch' },
      restore: { validateConfig: true, ignoreFilesInTarget: ['lost+found'] },
    });
    expect(loaded.warnings).toEqual([]);
    expect(loaded.origins.every((o) => o.source === 'default')).toBe(true);
    expect(origin(loaded, 'cluster.nodeId')).toMatchObject({ value: '0', key: 'camunda.cluster.node-id' });
  });

  it('reads the legacy zeebe.broker keys from config/application.yaml', () => {
    const cwd = brokerDir(`
zeebe:
  broker:
    cluster:
      nodeId: 2
      clusterSize: 3
      partitionsCount: 4
      replicationFactor: 3
    data:
      directory: /usr/local/zeebe/data
      backup:
        store: S3
        s3:
          bucketName: backups
          region: eu-west-1
  restore:
    validateConfig: false
`);
    const loaded = load(cwd);
    expect(loaded.config).toMatchObject({
      nodeId: 2,
      clusterSize: 3,
      partitionCount: 4,
      replicationFactor: 3,
      dataDirectory: '/usr/local/zeebe/data',
      backupStore: { type: 'S3', bucketName: 'backups', region: 'eu-west-1' },
      restore: { validateConfig: false },
    });
    expect(origin(loaded, 'cluster.nodeId')).toEqual({
      setting: 'cluster.nodeId',
      key: 'zeebe.broker.cluster.nodeId',
      source: path.join(cwd, 'config/application.yaml'),
      value: '2',
    });
  });

  it('reads the 8.8 unified keys in kebab-case, and treats camelCase spellings as the same keys', () => {
    const kebab = brokerDir(`
camunda:
  cluster:
    node-id: 1
    size: 3
    partition-count: 3
    replication-factor: 2
  data:
    primary-storage:
      directory: state
    backup:
      store: filesystem
      filesystem:
        base-path: /mnt/backups
`);
    const camel = brokerDir(`
camunda.cluster.nodeId: 1
camunda.cluster.size: 3
camunda.cluster.partitionCount: 3
camunda.cluster.replicationFactor: 2
camunda.data.primaryStorage.directory: state
camunda.data.backup.store: FILESYSTEM
camunda.data.backup.filesystem.basePath: /mnt/backups
`);
    const expected = {
      nodeId: 1,
      clusterSize: 3,
      partitionCount: 3,
      replicationFactor: 2,
      backupStore: { type: 'FILESYSTEM', basePath: '/mnt/backups' },
    };
    expect(load(kebab).config).toMatchObject({ ...expected, dataDirectory: path.join(kebab, 'state') });
    expect(load(camel).config).toMatchObject({ ...expected, dataDirectory: path.join(camel, 'state') });
  });

  it('binds environment variables with relaxed binding, both with and without _ for -', () => {
    const cwd = brokerDir();
    const env = { CAMUNDA_CLUSTER_NODEID: '2', CAMUNDA_CLUSTER_SIZE: '3', CAMUNDA_CLUSTER_PARTITIONCOUNT: '5' };
    for (const directoryVariable of ['CAMUNDA_DATA_PRIMARY_STORAGE_DIRECTORY', 'CAMUNDA_DATA_PRIMARYSTORAGE_DIRECTORY']) {
      const loaded = load(cwd, { ...env, [directoryVariable]: '/data' });
      expect(loaded.config).toMatchObject({ nodeId: 2, clusterSize: 3, partitionCount: 5, dataDirectory: '/data' });
      expect(origin(loaded, 'data.directory')).toMatchObject({ key: directoryVariable, source: 'environment' });
    }
    expect(load(cwd, { ZEEBE_BROKER_CLUSTER_NODEID: '1' }).config.nodeId).toBe(1);
  });

  it('reports two spellings of one key with different values', () => {
    const env = loadError(brokerDir(), {
      CAMUNDA_DATA_PRIMARY_STORAGE_DIRECTORY: '/a',
      CAMUNDA_DATA_PRIMARYSTORAGE_DIRECTORY: '/b',
    });
    expect(env.message).toContain('CAMUNDA_DATA_PRIMARY_STORAGE_DIRECTORY and CAMUNDA_DATA_PRIMARYSTORAGE_DIRECTORY');
    const yaml = loadError(brokerDir('zeebe.broker.cluster:\n  nodeId: 1\n  node-id: 2\n'));
    expect(yaml.message).toContain('zeebe.broker.cluster.nodeId and zeebe.broker.cluster.node-id');
    // The same value written twice is harmless.
    expect(load(brokerDir('zeebe.broker.cluster:\n  nodeId: 1\n  node-id: 1\n')).config.nodeId).toBe(1);
  });

  it('lets the environment override YAML within one generation', () => {
    const cwd = brokerDir('zeebe.broker.cluster.nodeId: 1\ncamunda.cluster.size: 3\n');
    const loaded = load(cwd, { ZEEBE_BROKER_CLUSTER_NODEID: '2', CAMUNDA_CLUSTER_SIZE: '4' });
    expect(loaded.config).toMatchObject({ nodeId: 2, clusterSize: 4 });
    expect(origin(loaded, 'cluster.nodeId')).toMatchObject({ key: 'ZEEBE_BROKER_CLUSTER_NODEID', source: 'environment' });
    expect(loaded.warnings).toEqual([]);
  });

  it('lets a unified key beat a legacy key from any source, with a warning', () => {
    const cwd = brokerDir('camunda.cluster.node-id: 1\n');
    const loaded = load(cwd, { ZEEBE_BROKER_CLUSTER_NODEID: '2', CLUSTER_UNRELATED: 'x' });
    expect(loaded.config.nodeId).toBe(1);
    expect(origin(loaded, 'cluster.nodeId')).toMatchObject({ key: 'camunda.cluster.node-id' });
    expect(loaded.warnings).toHaveLength(1);
    expect(loaded.warnings[0]).toContain('ZEEBE_BROKER_CLUSTER_NODEID (environment) is ignored');
    expect(loaded.warnings[0]).toContain('camunda.cluster.node-id');
  });

  it('prefers the 8.9 backup keys over the 8.8 ones', () => {
    const loaded = load(brokerDir(), {
      CAMUNDA_DATA_BACKUP_STORE: 'S3',
      CAMUNDA_DATA_PRIMARYSTORAGE_BACKUP_STORE: 'GCS',
      CAMUNDA_DATA_PRIMARYSTORAGE_BACKUP_GCS_BUCKETNAME: 'b',
    });
    expect(loaded.config.backupStore).toMatchObject({ type: 'GCS', bucketName: 'b' });
    expect(loaded.warnings[0]).toContain('CAMUNDA_DATA_BACKUP_STORE');
  });

  it('reads lists as YAML sequences or comma-separated strings', () => {
    const env = { ZEEBE_RESTORE_IGNOREFILESINTARGET: '.snapshot,lost+found' };
    expect(load(brokerDir(), env).config.restore.ignoreFilesInTarget).toEqual(['.snapshot', 'lost+found']);
    const yaml = brokerDir('camunda.system.restore.ignore-files-in-target:\n  - lost+found\n  - .trash\n');
    expect(load(yaml).config.restore.ignoreFilesInTarget).toEqual(['lost+found', '.trash']);
    expect(load(brokerDir('zeebe.restore.ignoreFilesInTarget: []\n')).config.restore.ignoreFilesInTarget).toEqual([]);
  });

  it('reads durations in ISO-8601 and Spring style', () => {
    const cwd = brokerDir(`
zeebe.broker.data.backup:
  store: S3
  s3:
    bucketName: b
    apiCallTimeout: PT3M
    connectionAcquisitionTimeout: 500ms
`);
    expect(load(cwd).config.backupStore).toMatchObject({ apiCallTimeoutMs: 180_000, connectionAcquisitionTimeoutMs: 500 });
    const defaults = load(cwd, { ZEEBE_BROKER_DATA_BACKUP_S3_APICALLTIMEOUT: '90s' }).config.backupStore;
    expect(defaults).toMatchObject({ apiCallTimeoutMs: 90_000 });

    const error = loadError(cwd, { ZEEBE_BROKER_DATA_BACKUP_S3_APICALLTIMEOUT: 'three minutes' });
    expect(error.message).toContain('ZEEBE_BROKER_DATA_BACKUP_S3_APICALLTIMEOUT (environment) = three minutes is not a duration');
  });

  it('reads a FIXED layout from YAML', () => {
    const cwd = brokerDir(`
zeebe.broker:
  cluster: { nodeId: 1, clusterSize: 3, partitionsCount: 2, replicationFactor: 2 }
  experimental.partitioning:
    scheme: FIXED
    fixed:
      - partitionId: 1
        nodes:
          - nodeId: 0
            priority: 2
          - nodeId: 1
            priority: 1
      - partitionId: 2
        nodes: [{ nodeId: 1 }, { nodeId: 2 }]
`);
    const loaded = load(cwd);
    expect(loaded.config.partitioning).toEqual({
      scheme: 'FIXED',
      fixed: [
        { partitionId: 1, nodes: [{ nodeId: 0, priority: 2 }, { nodeId: 1, priority: 1 }] },
        { partitionId: 2, nodes: [{ nodeId: 1 }, { nodeId: 2 }] },
      ],
    });
    expect(origin(loaded, 'cluster.partitioning.fixed[1].nodes[0].nodeId')).toMatchObject({
      key: 'zeebe.broker.experimental.partitioning.fixed[1].nodes[0].nodeId',
      value: '1',
    });
  });

  it('reads a FIXED layout from indexed environment variables, replacing the YAML list whole', () => {
    const cwd = brokerDir(`
camunda.cluster.partitioning:
  scheme: fixed
  fixed:
    - partition-id: 1
      nodes: [{ node-id: 0 }]
    - partition-id: 2
      nodes: [{ node-id: 0 }]
`);
    const loaded = load(cwd, {
      CAMUNDA_CLUSTER_PARTITIONING_FIXED_0_PARTITIONID: '1',
      CAMUNDA_CLUSTER_PARTITIONING_FIXED_0_NODES_0_NODEID: '0',
      CAMUNDA_CLUSTER_PARTITIONING_FIXED_0_NODES_1_NODE_ID: '1',
    });
    expect(loaded.config.partitioning).toEqual({
      scheme: 'FIXED',
      fixed: [{ partitionId: 1, nodes: [{ nodeId: 0 }, { nodeId: 1 }] }],
    });
    const legacy = load(brokerDir(), {
      ZEEBE_BROKER_EXPERIMENTAL_PARTITIONING_SCHEME: 'FIXED',
      ZEEBE_BROKER_EXPERIMENTAL_PARTITIONING_FIXED_0_PARTITIONID: '1',
      ZEEBE_BROKER_EXPERIMENTAL_PARTITIONING_FIXED_0_NODES_0_NODEID: '0',
      ZEEBE_BROKER_EXPERIMENTAL_PARTITIONING_FIXED_0_NODES_0_PRIORITY: '3',
    });
    expect(legacy.config.partitioning).toEqual({ scheme: 'FIXED', fixed: [{ partitionId: 1, nodes: [{ nodeId: 0, priority: 3 }] }] });
  });

  it('names the key of a FIXED element field that is missing', () => {
    const error = loadError(brokerDir(), {
      ZEEBE_BROKER_EXPERIMENTAL_PARTITIONING_SCHEME: 'FIXED',
      ZEEBE_BROKER_EXPERIMENTAL_PARTITIONING_FIXED_0_NODES_0_NODEID: '0',
    });
    expect(error.message).toContain(
      'zeebe.broker.experimental.partitioning.fixed[0].partitionId (env ZEEBE_BROKER_EXPERIMENTAL_PARTITIONING_FIXED_0_PARTITIONID)',
    );
  });

  describe('backup stores', () => {
    it('builds an S3 store with defaults', () => {
      const loaded = load(brokerDir(), {
        ZEEBE_BROKER_DATA_BACKUP_STORE: 's3',
        ZEEBE_BROKER_DATA_BACKUP_S3_BUCKETNAME: 'backups',
        ZEEBE_BROKER_DATA_BACKUP_S3_ENDPOINT: 'http://minio:9000',
        ZEEBE_BROKER_DATA_BACKUP_S3_FORCEPATHSTYLEACCESS: 'true',
        ZEEBE_BROKER_DATA_BACKUP_S3_ACCESSKEY: 'AKIA-TEST',
        ZEEBE_BROKER_DATA_BACKUP_S3_SECRETKEY: 'very-secret',
      });
      expect(loaded.config.backupStore).toEqual({
        type: 'S3',
        bucketName: 'backups',
        endpoint: 'http://minio:9000',
        forcePathStyleAccess: true,
        accessKey: 'AKIA-TEST',
        secretKey: 'very-secret',
        apiCallTimeoutMs: 180_000,
        maxConcurrentConnections: 50,
        connectionAcquisitionTimeoutMs: 45_000,
        supportLegacyMd5: false,
      });
      expect(load(brokerDir(), {
        ZEEBE_BROKER_DATA_BACKUP_STORE: 'S3',
        ZEEBE_BROKER_DATA_BACKUP_S3_BUCKETNAME: 'b',
        ZEEBE_BROKER_DATA_BACKUP_S3_COMPRESSION: 'zstd',
      }).config.backupStore).toMatchObject({ compression: 'zstd' });
    });

    it('builds a GCS store', () => {
      const cwd = brokerDir(`
camunda.data.primary-storage.backup:
  store: GCS
  gcs: { bucket-name: backups, base-path: prod, host: 'http://localhost:4443', auth: NONE }
`);
      expect(load(cwd).config.backupStore).toEqual({
        type: 'GCS',
        bucketName: 'backups',
        basePath: 'prod',
        host: 'http://localhost:4443',
        auth: 'none',
      });
    });

    it('builds an Azure store, where a connection string of none means unset', () => {
      const cwd = brokerDir(`
zeebe.broker.data.backup:
  store: AZURE
  azure:
    endpoint: https://account.blob.core.windows.net
    accountName: account
    connectionString: none
    basePath: backups
    sasToken: { type: service, value: sv=2024&sig=abc }
`);
      expect(load(cwd).config.backupStore).toEqual({
        type: 'AZURE',
        endpoint: 'https://account.blob.core.windows.net',
        accountName: 'account',
        basePath: 'backups',
        createContainer: true,
        sasToken: { type: 'service', value: 'sv=2024&sig=abc' },
      });
      const env = load(brokerDir(), { ZEEBE_BROKER_DATA_BACKUP_STORE: 'AZURE', ZEEBE_BROKER_DATA_BACKUP_AZURE_SASTOKEN_VALUE: 'x', ZEEBE_BROKER_DATA_BACKUP_AZURE_SASTOKEN_TYPE: 'account' });
      expect(env.config.backupStore).toMatchObject({ sasToken: { type: 'account', value: 'x' } });
    });

    it('builds a filesystem store with a base path relative to the working directory', () => {
      const cwd = brokerDir();
      const loaded = load(cwd, { ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM', ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: 'backups' });
      expect(loaded.config.backupStore).toEqual({ type: 'FILESYSTEM', basePath: path.join(cwd, 'backups') });
    });

    it('names every accepted key of a missing required field', () => {
      const error = loadError(brokerDir(), { ZEEBE_BROKER_DATA_BACKUP_STORE: 'S3' });
      expect(error.message).toContain('backup.s3.bucketName is not set');
      expect(error.message).toContain('zeebe.broker.data.backup.s3.bucketName (env ZEEBE_BROKER_DATA_BACKUP_S3_BUCKETNAME)');
      expect(error.message).toContain('camunda.data.backup.s3.bucket-name (env CAMUNDA_DATA_BACKUP_S3_BUCKETNAME)');
      expect(error.message).toContain(
        'camunda.data.primary-storage.backup.s3.bucket-name (env CAMUNDA_DATA_PRIMARYSTORAGE_BACKUP_S3_BUCKETNAME)',
      );
      const filesystem = loadError(brokerDir(), { ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM' });
      expect(filesystem.message).toContain('ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH');
    });

    it('rejects an unknown store type', () => {
      const error = loadError(brokerDir(), { ZEEBE_BROKER_DATA_BACKUP_STORE: 'TAPE' });
      expect(error.message).toBe(
        'Invalid configuration:\n  - ZEEBE_BROKER_DATA_BACKUP_STORE (environment) = TAPE is not one of NONE, S3, GCS, AZURE, FILESYSTEM.',
      );
    });
  });

  it('reports every problem at once, naming the keys and values', () => {
    const cwd = brokerDir(`
zeebe.broker.cluster:
  nodeId: two
  clusterSize: 0
  replicationFactor: -1
zeebe.restore.validateConfig: maybe
`);
    const error = loadError(cwd, { ZEEBE_BROKER_DATA_BACKUP_STORE: 'GCS' });
    const file = path.join(cwd, 'config/application.yaml');
    expect(error.message.split('\n')).toEqual([
      'Invalid configuration:',
      `  - zeebe.broker.cluster.nodeId (${file}) = two is not a whole number.`,
      `  - zeebe.restore.validateConfig (${file}) = maybe is not true or false.`,
      `  - zeebe.broker.cluster.clusterSize (${file}) = 0 must be at least 1.`,
      `  - zeebe.broker.cluster.replicationFactor (${file}) = -1 must be at least 1.`,
      expect.stringContaining('backup.gcs.bucketName is not set'),
    ]);
  });

  it('never shows a secret in errors or in --print-config', () => {
    const secret = 'TOP-SECRET-VALUE';
    const conflict = loadError(brokerDir(), {
      ZEEBE_BROKER_DATA_BACKUP_STORE: 'S3',
      ZEEBE_BROKER_DATA_BACKUP_S3_BUCKETNAME: 'b',
      ZEEBE_BROKER_DATA_BACKUP_S3_SECRETKEY: secret,
      ZEEBE_BROKER_DATA_BACKUP_S3_SECRET_KEY: `${secret}-2`,
    });
    expect(conflict.message).toContain('ZEEBE_BROKER_DATA_BACKUP_S3_SECRETKEY');
    expect(conflict.message).not.toContain(secret);

    const listValue = loadError(brokerDir(`zeebe.broker.data.backup:\n  store: AZURE\n  azure.accountKey: [${secret}, x]\n`));
    expect(listValue.message).toContain('zeebe.broker.data.backup.azure.accountKey');
    expect(listValue.message).not.toContain(secret);

    const sasWithoutType = loadError(brokerDir(), {
      ZEEBE_BROKER_DATA_BACKUP_STORE: 'AZURE',
      ZEEBE_BROKER_DATA_BACKUP_AZURE_SASTOKEN_VALUE: secret,
    });
    expect(sasWithoutType.message).toContain('backup.azure.sasToken.type is not set');
    expect(sasWithoutType.message).not.toContain(secret);

    const loaded = load(brokerDir(), {
      ZEEBE_BROKER_DATA_BACKUP_STORE: 'S3',
      ZEEBE_BROKER_DATA_BACKUP_S3_BUCKETNAME: 'b',
      ZEEBE_BROKER_DATA_BACKUP_S3_SECRETKEY: secret,
      ZEEBE_BROKER_DATA_BACKUP_S3_SSECKEY: secret,
    });
    const printed = renderConfig(loaded);
    expect(printed).not.toContain(secret);
    expect(printed).toMatch(/^backup\.s3\.secretKey = \*\*\*\* +\(ZEEBE_BROKER_DATA_BACKUP_S3_SECRETKEY, environment\)$/m);
    expect(printed).toMatch(/^backup\.s3\.bucketName = b +\(ZEEBE_BROKER_DATA_BACKUP_S3_BUCKETNAME, environment\)$/m);
    expect(printed).toMatch(/^cluster\.nodeId = 0 +\(default\)$/m);
    expect(printed).toMatch(/^backup\.s3\.region = \(not set\)$/m);
    expect(printed).toMatch(/^backup\.s3\.apiCallTimeout = 180000ms +\(default\)$/m);
  });

  describe('configuration files', () => {
    it('requires an explicit file to exist', () => {
      const cwd = brokerDir();
      expect(loadError(cwd, {}, 'custom.yaml').message).toBe(`Configuration file ${path.join(cwd, 'custom.yaml')} does not exist.`);
    });

    it('reads an explicit file instead of config/application.yaml', () => {
      const cwd = brokerDir('zeebe.broker.cluster.nodeId: 1\n');
      writeYaml(cwd, 'other.yaml', 'zeebe.broker.cluster.clusterSize: 5\n');
      expect(load(cwd, {}, 'other.yaml').config).toMatchObject({ nodeId: 0, clusterSize: 5 });
    });

    it('reports invalid YAML with the file name', () => {
      const cwd = brokerDir('zeebe: [unclosed\n');
      expect(loadError(cwd).message).toContain(path.join(cwd, 'config/application.yaml'));
    });

    it('adds the files of SPRING_CONFIG_ADDITIONAL_LOCATION, later files winning', () => {
      const cwd = brokerDir('zeebe.broker.cluster: { nodeId: 1, clusterSize: 3 }\n');
      writeYaml(cwd, 'extra/one.yaml', 'zeebe.broker.cluster.nodeId: 2\n');
      writeYaml(cwd, 'extra/dir/application.yaml', 'zeebe.broker.cluster.partitionsCount: 7\n');
      const loaded = load(cwd, {
        SPRING_CONFIG_ADDITIONAL_LOCATION: 'file:./extra/one.yaml, extra/dir/, optional:file:missing.yaml',
      });
      expect(loaded.config).toMatchObject({ nodeId: 2, clusterSize: 3, partitionCount: 7 });
      expect(origin(loaded, 'cluster.nodeId')?.source).toBe(path.join(cwd, 'extra/one.yaml'));

      const missing = loadError(cwd, { SPRING_CONFIG_ADDITIONAL_LOCATION: 'file:missing.yaml' });
      expect(missing.message).toContain(path.join(cwd, 'missing.yaml'));
    });

    it('replaces the default file with SPRING_CONFIG_LOCATION', () => {
      const cwd = brokerDir('zeebe.broker.cluster.nodeId: 1\n');
      writeYaml(cwd, 'elsewhere.yaml', 'zeebe.broker.cluster.clusterSize: 2\n');
      expect(load(cwd, { SPRING_CONFIG_LOCATION: 'classpath:/,file:elsewhere.yaml' }).config).toMatchObject({
        nodeId: 0,
        clusterSize: 2,
      });
    });

    it('applies the documents of a multi-document file in order', () => {
      const cwd = brokerDir('zeebe.broker.cluster.nodeId: 1\n---\nzeebe.broker.cluster.nodeId: 2\n');
      expect(load(cwd).config.nodeId).toBe(2);
    });
  });
});

describe('parseDurationMs', () => {
  it.each([
    ['PT180S', 180_000],
    ['PT3M', 180_000],
    ['P1D', 86_400_000],
    ['PT0.5S', 500],
    ['PT1.005S', 1005],
    ['P1DT2H', 93_600_000],
    ['180s', 180_000],
    ['500ms', 500],
    ['3m', 180_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['1500', 1500],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['', 'P', 'PT', 'P1DT', '3 minutes', '5x', 'PT-1S', '1.5s'])('rejects %j', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });
});
