import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { PlaceholderError, resolvePlaceholders, type FoundProperty } from '../../src/config/placeholders.js';
import { renderConfig } from '../../src/config/print-config.js';
import type { LoadedConfig } from '../../src/config/restore-config.js';
import { UsageError } from '../../src/errors.js';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A broker working directory with `config/application.yaml`; returns it and the file's path. */
function brokerDir(applicationYaml: string): { cwd: string; file: string } {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'restore-placeholders-'));
  dirs.push(cwd);
  const file = path.join(cwd, 'config', 'application.yaml');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, applicationYaml);
  return { cwd, file };
}

function load(cwd: string, env: NodeJS.ProcessEnv = {}): LoadedConfig {
  return loadConfig({ cwd, env });
}

function loadError(cwd: string, env: NodeJS.ProcessEnv = {}): UsageError {
  try {
    load(cwd, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected loadConfig to fail');
}

const origin = (loaded: LoadedConfig, setting: string) => loaded.origins.find((o) => o.setting === setting);
const printedLine = (loaded: LoadedConfig, setting: string) =>
  renderConfig(loaded)
    .split('\n')
    .find((line) => line.startsWith(`${setting} = `));

/** The 8.9 chart's `application.yaml` (abridged): the node id comes from its startup.sh. */
const helm89 = `
camunda:
  cluster:
    node-id: "\${VALUES_ORCHESTRATION_NODE_ID:}"
    size: "3"
    partition-count: "3"
    replication-factor: "3"
    network:
      advertised-host: "\${K8S_NAME}.\${K8S_SERVICE_NAME}"
  data:
    primary-storage:
      directory: /usr/local/camunda/data
`;

describe('placeholders in configuration values', () => {
  it('reads the Helm 8.9 node id from VALUES_ORCHESTRATION_NODE_ID, and shows where it came from', () => {
    const { cwd, file } = brokerDir(helm89);
    const loaded = load(cwd, { VALUES_ORCHESTRATION_NODE_ID: '2' });
    // K8S_NAME is unset here, but the agent does not read the advertised host: no error.
    expect(loaded.config).toMatchObject({ nodeId: 2, clusterSize: 3, partitionCount: 3, replicationFactor: 3 });
    expect(origin(loaded, 'cluster.nodeId')).toEqual({
      setting: 'cluster.nodeId',
      key: 'camunda.cluster.node-id',
      source: file,
      value: '2',
      written: '${VALUES_ORCHESTRATION_NODE_ID:}',
      placeholders: [{ name: 'VALUES_ORCHESTRATION_NODE_ID', found: { key: 'VALUES_ORCHESTRATION_NODE_ID', source: 'environment' } }],
    });
    expect(printedLine(loaded, 'cluster.nodeId')).toMatch(
      new RegExp(`^cluster\\.nodeId = 2 +\\(camunda\\.cluster\\.node-id, ${escapeRegExp(file)}; \\$\\{VALUES_ORCHESTRATION_NODE_ID\\} from environment\\)$`),
    );
  });

  it('leaves the Helm 8.9 node id at its default when the variable is unset or empty, and says why', () => {
    const { cwd, file } = brokerDir(helm89);
    for (const env of [{}, { VALUES_ORCHESTRATION_NODE_ID: '' }]) {
      const loaded = load(cwd, env);
      expect(loaded.config.nodeId).toBe(0);
      expect(origin(loaded, 'cluster.nodeId')).toMatchObject({ source: 'default', value: '0', blank: { key: 'camunda.cluster.node-id', source: file } });
    }
    expect(printedLine(load(cwd), 'cluster.nodeId')).toMatch(
      new RegExp(`^cluster\\.nodeId = 0 +${escapeRegExp(`(default; camunda.cluster.node-id in ${file} resolved to empty: \${VALUES_ORCHESTRATION_NODE_ID} unset)`)}$`),
    );
    expect(printedLine(load(cwd, { VALUES_ORCHESTRATION_NODE_ID: '' }), 'cluster.nodeId')).toContain(
      'resolved to empty: ${VALUES_ORCHESTRATION_NODE_ID} from environment)',
    );
  });

  it('treats a key that resolves to empty as not set, so a legacy key or a lower source still applies', () => {
    const { cwd } = brokerDir(helm89);
    const loaded = load(cwd, { ZEEBE_BROKER_CLUSTER_NODEID: '1' });
    expect(loaded.config.nodeId).toBe(1);
    expect(loaded.warnings).toEqual([]);
    // A set value in Spring is used even when empty; the default then is not used: `${X:5}` → '' → not set.
    const empty = brokerDir('camunda.cluster.node-id: ${X:5}\n');
    expect(load(empty.cwd, { X: '' }).config.nodeId).toBe(0);
    expect(load(empty.cwd).config.nodeId).toBe(5);
  });

  it('resolves defaults that are placeholders themselves', () => {
    const { cwd } = brokerDir('camunda.cluster.node-id: ${A:${B:7}}\n');
    expect(load(cwd, { A: '1', B: '2' }).config.nodeId).toBe(1);
    expect(load(cwd, { B: '2' }).config.nodeId).toBe(2);
    const fallback = load(cwd);
    expect(fallback.config.nodeId).toBe(7);
    expect(printedLine(fallback, 'cluster.nodeId')).toContain('; ${A} unset, ${B} unset)');
  });

  it('resolves several placeholders in one value, and values found for them recursively', () => {
    const { cwd } = brokerDir(`
camunda.data.backup:
  store: \${STORE:s3}
  s3:
    bucket-name: \${BUCKET_PREFIX:zeebe}-\${CLUSTER}-backups
    endpoint: http://\${S3_HOST}:\${S3_PORT:9000}
`);
    const loaded = load(cwd, { CLUSTER: 'prod', S3_HOST: '${MINIO_SERVICE_HOST}', MINIO_SERVICE_HOST: 'minio' });
    expect(loaded.config.backupStore).toMatchObject({ type: 'S3', bucketName: 'zeebe-prod-backups', endpoint: 'http://minio:9000' });
    expect(printedLine(loaded, 'backup.s3.endpoint')).toContain(
      '; ${S3_HOST} from environment, ${MINIO_SERVICE_HOST} from environment, ${S3_PORT} unset)',
    );
  });

  it('finds property names through the sources and relaxed binding, the environment first', () => {
    const { cwd, file } = brokerDir(`
camunda.cluster:
  node-id: \${zeebe.broker.cluster.nodeId}
  size: \${camunda.cluster.replication-factor}
  replicationFactor: 3
  partition-count: \${my.partitions}
my.partitions: \${my.default-partitions}
my.default-partitions: 6
`);
    const loaded = load(cwd, { ZEEBE_BROKER_CLUSTER_NODEID: '2' });
    expect(loaded.config).toMatchObject({ nodeId: 2, clusterSize: 3, replicationFactor: 3, partitionCount: 6 });
    expect(origin(loaded, 'cluster.nodeId')?.placeholders).toEqual([
      { name: 'zeebe.broker.cluster.nodeId', found: { key: 'ZEEBE_BROKER_CLUSTER_NODEID', source: 'environment' } },
    ]);
    // The kebab-case name finds the camelCase YAML key by relaxed binding.
    expect(origin(loaded, 'cluster.size')?.placeholders).toEqual([
      { name: 'camunda.cluster.replication-factor', found: { key: 'camunda.cluster.replicationFactor', source: file } },
    ]);
    expect(printedLine(loaded, 'cluster.partitionCount')).toContain(
      `; \${my.partitions} from ${file}, \${my.default-partitions} from ${file})`,
    );
    // The environment outranks the YAML file for placeholder names too.
    expect(load(cwd, { ZEEBE_BROKER_CLUSTER_NODEID: '2', MY_PARTITIONS: '4' }).config.partitionCount).toBe(4);
  });

  it('resolves placeholders in environment variables and in FIXED list elements', () => {
    const { cwd } = brokerDir(`
zeebe.broker.experimental.partitioning:
  scheme: \${SCHEME:FIXED}
  fixed:
    - partitionId: 1
      nodes: [{ nodeId: "\${FIRST_NODE}" }]
`);
    const loaded = load(cwd, { ZEEBE_BROKER_CLUSTER_NODEID: '${POD_INDEX}', POD_INDEX: '1', FIRST_NODE: '1' });
    expect(loaded.config.nodeId).toBe(1);
    expect(loaded.config.partitioning).toEqual({ scheme: 'FIXED', fixed: [{ partitionId: 1, nodes: [{ nodeId: 1 }] }] });
  });

  it('reports an unresolvable placeholder with its key and file, together with every other problem', () => {
    const { cwd, file } = brokerDir(`
camunda.cluster:
  node-id: \${POD_INDEX}
  size: 0
camunda.data.backup:
  store: FILESYSTEM
  filesystem.base-path: /backups/\${CLUSTER_NAME}
`);
    const error = loadError(cwd);
    expect(error.message.split('\n')).toEqual([
      'Invalid configuration:',
      `  - camunda.cluster.node-id (${file}): could not resolve placeholder 'POD_INDEX' in value "\${POD_INDEX}".`,
      `  - camunda.data.backup.filesystem.base-path (${file}): could not resolve placeholder 'CLUSTER_NAME' in value "/backups/\${CLUSTER_NAME}".`,
      `  - camunda.cluster.size (${file}) = 0 must be at least 1.`,
    ]);

    const nested = loadError(brokerDir('camunda.cluster.node-id: ${A}\n').cwd, { A: '${B}' });
    expect(nested.message).toContain(`could not resolve placeholder 'B' in value "\${A}" (in the value of 'A').`);
  });

  it('names the written value of a value that is invalid once resolved', () => {
    const { cwd, file } = brokerDir('camunda.cluster.node-id: ${NODE}\ncamunda.cluster.size: ${SIZE}\n');
    const error = loadError(cwd, { NODE: 'two', SIZE: '0' });
    expect(error.message).toContain(`camunda.cluster.node-id (${file}) = two (resolved from \${NODE}) is not a whole number.`);
    expect(error.message).toContain(`camunda.cluster.size (${file}) = 0 (resolved from \${SIZE}) must be at least 1.`);
  });

  it('reports circular references', () => {
    const self = loadError(brokerDir('camunda.cluster.node-id: ${A}\n').cwd, { A: '${A}' });
    expect(self.message).toContain(`camunda.cluster.node-id`);
    expect(self.message).toContain(`circular placeholder reference 'A' in value "\${A}" (A → A).`);
    const { cwd } = brokerDir('camunda.cluster.node-id: ${A}\nmy.b: ${A:0}\n');
    expect(loadError(cwd, { A: '${my.b}' }).message).toContain("circular placeholder reference 'A' in value \"${A}\" (A → my.b → A).");
  });

  it('never shows a secret that came through a placeholder', () => {
    const secret = 'TOP-SECRET-VALUE';
    const { cwd } = brokerDir(`
zeebe.broker.data.backup:
  store: S3
  s3:
    bucketName: b
    secretKey: \${S3_SECRET_KEY}
    accessKey: \${S3_ACCESS_KEY:${secret}}
`);
    const loaded = load(cwd, { S3_SECRET_KEY: secret });
    expect(loaded.config.backupStore).toMatchObject({ secretKey: secret, accessKey: secret });
    const printed = renderConfig(loaded);
    expect(printed).not.toContain(secret);
    expect(printedLine(loaded, 'backup.s3.secretKey')).toMatch(/^backup\.s3\.secretKey = \*\*\*\* +\(zeebe\.broker\.data\.backup\.s3\.secretKey, .*; \$\{S3_SECRET_KEY\} from environment\)$/);
    expect(printedLine(loaded, 'backup.s3.accessKey')).toMatch(/; \$\{S3_ACCESS_KEY\} unset\)$/);
    expect(origin(loaded, 'backup.s3.accessKey')).not.toHaveProperty('written');

    // Unresolvable: the written value (with its secret default) is not echoed, only the placeholder.
    const unresolvable = loadError(cwd, { S3_SECRET_KEY: `\${OTHER}` });
    expect(unresolvable.message).toContain("zeebe.broker.data.backup.s3.secretKey");
    expect(unresolvable.message).toContain("could not resolve placeholder 'OTHER' (in the value of 'S3_SECRET_KEY').");
    expect(unresolvable.message).not.toContain(secret);
    const withDefault = loadError(brokerDir(`zeebe.broker.data.backup:\n  store: S3\n  s3: { bucketName: b, secretKey: "${secret}\${MISSING}" }\n`).cwd);
    expect(withDefault.message).toContain("could not resolve placeholder 'MISSING'");
    expect(withDefault.message).not.toContain(secret);

    // Two spellings that differ once resolved.
    const conflict = loadError(brokerDir('zeebe.broker.data.backup:\n  store: S3\n  s3.bucketName: b\n').cwd, {
      ZEEBE_BROKER_DATA_BACKUP_S3_SECRETKEY: '${S3_SECRET_KEY}',
      ZEEBE_BROKER_DATA_BACKUP_S3_SECRET_KEY: 'other',
      S3_SECRET_KEY: secret,
    });
    expect(conflict.message).toContain('are spellings of the same key with different values');
    expect(conflict.message).not.toContain(secret);
  });

  it('resolves each element of a YAML sequence, and a comma-separated string before splitting it', () => {
    const sequence = brokerDir('zeebe.restore.ignoreFilesInTarget: ["${EXTRA}", lost+found, "${NONE:}"]\n');
    expect(load(sequence.cwd, { EXTRA: '.snapshot' }).config.restore.ignoreFilesInTarget).toEqual(['.snapshot', 'lost+found']);
    // An element stays one element, as Spring binds `list[0]` on its own.
    expect(load(sequence.cwd, { EXTRA: 'a,b' }).config.restore.ignoreFilesInTarget).toEqual(['a,b', 'lost+found']);

    const env = { ZEEBE_RESTORE_IGNOREFILESINTARGET: '${EXTRA},lost+found', EXTRA: '.snapshot,.trash' };
    expect(load(brokerDir('').cwd, env).config.restore.ignoreFilesInTarget).toEqual(['.snapshot', '.trash', 'lost+found']);
  });

  it('keeps an escaped \\${ literally, as Spring Framework 6.2 does', () => {
    const { cwd } = brokerDir(`
zeebe.broker.data.backup:
  store: GCS
  gcs:
    bucketName: '\\\${NOT_A_PLACEHOLDER}'
    basePath: '\${KEY\\:WITH\\:COLONS:fallback}'
`);
    expect(load(cwd).config.backupStore).toMatchObject({ bucketName: '${NOT_A_PLACEHOLDER}', basePath: 'fallback' });
    expect(load(cwd, { 'KEY:WITH:COLONS': 'found' }).config.backupStore).toMatchObject({ basePath: 'found' });
  });
});

describe('resolvePlaceholders', () => {
  const lookupIn =
    (values: Record<string, string>) =>
    (name: string): FoundProperty | undefined =>
      name in values ? { key: name, source: 'test', value: values[name] ?? '' } : undefined;

  it.each([
    ['plain', 'plain'],
    ['${A}', 'a'],
    ['${A}${A}', 'aa'],
    ['x${A}y${B:b}z', 'xaybz'],
    ['${MISSING:}', ''],
    ['${MISSING:with:colons}', 'with:colons'],
    ['${MISSING:${A}}', 'a'],
    ['${MISSING:{braces}}', '{braces}'],
    ['${${NAME}}', 'a'],
    ['${REF}', 'a-a'],
    ['${unclosed', '${unclosed'],
    ['\\${A}', '${A}'],
    ['\\${A}-${A}', '${A}-a'],
    ['a\\b', 'a\\b'],
    ['${A\\:B:d}', 'd'],
  ])('%s → %s', (text, expected) => {
    expect(resolvePlaceholders(text, lookupIn({ A: 'a', NAME: 'A', REF: '${A}-${A}' })).value).toBe(expected);
  });

  it('throws for unresolvable and circular placeholders', () => {
    const lookup = lookupIn({ A: '${B}', B: '${A}', C: '${D}' });
    expect(() => resolvePlaceholders('${A}', lookup)).toThrow(new PlaceholderError('circular', 'A', ['A', 'B', 'A']));
    expect(() => resolvePlaceholders('${C}', lookup)).toThrow("could not resolve placeholder 'D'");
    try {
      resolvePlaceholders('x ${C}', lookup);
    } catch (error) {
      expect(error).toMatchObject({ kind: 'unresolvable', placeholder: 'D', chain: ['C'] });
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
