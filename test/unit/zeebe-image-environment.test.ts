import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeIdFromPodName, zeebeImageEnvironment } from '../../src/cli/zeebe-image-environment.js';
import { loadConfig } from '../../src/config/load-config.js';
import { UsageError } from '../../src/errors.js';
import { tempDir } from '../support/fixtures.js';

const noHostname = (): string => {
  throw new Error('the host name must not be asked for');
};

function usageError(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('node id from the pod name, as the Camunda Helm chart derives it (${K8S_NAME##*-})', () => {
  it.each([
    ['zeebe-0', 0],
    ['zeebe-2', 2],
    ['camunda-zeebe-10', 10],
    ['my-release-camunda-platform-zeebe-4', 4],
  ])('%s → %i', (podName, nodeId) => {
    expect(nodeIdFromPodName(podName)).toBe(nodeId);
  });

  it('multi-region: ordinal × regions + regionId', () => {
    expect(nodeIdFromPodName('camunda-zeebe-1', { regions: 2, regionId: 0 })).toBe(2);
    expect(nodeIdFromPodName('camunda-zeebe-1', { regions: 2, regionId: 1 })).toBe(3);
  });

  it.each([
    ['zeebe', /pod name 'zeebe': it does not end in '-<ordinal>'/],
    ['zeebe-x', /pod name 'zeebe-x': 'x' after the last '-' is not a StatefulSet pod ordinal/],
    ['zeebe-', /pod name 'zeebe-': '' after the last '-' is not/],
    ['zeebe-2.example.com', /'2\.example\.com' after the last '-'/],
    ['zeebe-02', /'02' after the last '-' is not/],
    ['', /it does not end in/],
  ])('%j is a clear usage error', (podName, message) => {
    const text = usageError(() => nodeIdFromPodName(podName));
    expect(text).toMatch(message);
    expect(text).toMatch(/Set ZEEBE_BROKER_CLUSTER_NODEID/);
  });
});

describe('backup id from the Zeebe image variables', () => {
  it('takes ZEEBE_RESTORE_FROM_BACKUP_ID when --backupId is not given', () => {
    const result = zeebeImageEnvironment({}, { ZEEBE_RESTORE_FROM_BACKUP_ID: ' 1700000000000 ' }, noHostname);
    expect(result.backupId).toBe('1700000000000');
    expect(result.notes).toEqual(['Backup id 1700000000000 from ZEEBE_RESTORE_FROM_BACKUP_ID.']);
  });

  it('keeps --backupId when the variable is unset, empty, or names the same backup', () => {
    expect(zeebeImageEnvironment({ backupId: '7' }, {}, noHostname).backupId).toBe('7');
    expect(zeebeImageEnvironment({ backupId: '7' }, { ZEEBE_RESTORE_FROM_BACKUP_ID: '' }, noHostname).backupId).toBe('7');
    const same = zeebeImageEnvironment({ backupId: '7' }, { ZEEBE_RESTORE_FROM_BACKUP_ID: '007' }, noHostname);
    expect(same).toEqual({ backupId: '7', env: { ZEEBE_RESTORE_FROM_BACKUP_ID: '007' }, notes: [] });
  });

  it('leaves a missing backup id to the caller', () => {
    expect(zeebeImageEnvironment({}, {}, noHostname).backupId).toBeUndefined();
  });

  it('refuses --backupId and a different ZEEBE_RESTORE_FROM_BACKUP_ID, naming both', () => {
    expect(usageError(() => zeebeImageEnvironment({ backupId: '7' }, { ZEEBE_RESTORE_FROM_BACKUP_ID: '8' }, noHostname))).toBe(
      '--backupId=7 and ZEEBE_RESTORE_FROM_BACKUP_ID=8 name different backups; pass one of them, or the same id in both.',
    );
  });

  it('leaves judging the value to the --backupId parser', () => {
    expect(zeebeImageEnvironment({}, { ZEEBE_RESTORE_FROM_BACKUP_ID: 'latest' }, noHostname).backupId).toBe('latest');
    expect(zeebeImageEnvironment({ backupId: 'latest' }, { ZEEBE_RESTORE_FROM_BACKUP_ID: 'latest' }, noHostname).backupId).toBe('latest');
  });

  it('maps ZEEBE_RESTORE_FROM_TIMESTAMP/TO_TIMESTAMP to --from/--to, as the image passes them', () => {
    const both = zeebeImageEnvironment(
      {},
      { ZEEBE_RESTORE_FROM_TIMESTAMP: '2026-01-10T13:00:00Z', ZEEBE_RESTORE_TO_TIMESTAMP: ' 2026-01-10T14:00:00Z ' },
      noHostname,
    );
    expect(both).toMatchObject({ from: '2026-01-10T13:00:00Z', to: '2026-01-10T14:00:00Z' });
    expect(both.backupId).toBeUndefined();
    expect(both.notes).toEqual([
      '--from=2026-01-10T13:00:00Z from ZEEBE_RESTORE_FROM_TIMESTAMP.',
      '--to=2026-01-10T14:00:00Z from ZEEBE_RESTORE_TO_TIMESTAMP.',
    ]);
    const toOnly = zeebeImageEnvironment({}, { ZEEBE_RESTORE_TO_TIMESTAMP: '2026-01-10T14:00:00Z' }, noHostname);
    expect(toOnly.to).toBe('2026-01-10T14:00:00Z');
    expect(toOnly.from).toBeUndefined();
    const fromOnly = zeebeImageEnvironment({}, { ZEEBE_RESTORE_FROM_TIMESTAMP: '2026-01-10T13:00:00Z' }, noHostname);
    expect(fromOnly).toMatchObject({ from: '2026-01-10T13:00:00Z', notes: ['--from=2026-01-10T13:00:00Z from ZEEBE_RESTORE_FROM_TIMESTAMP.'] });
    expect(fromOnly.to).toBeUndefined();
    // ZEEBE_RESTORE=true alone: no argument, which means the RDBMS default when the secondary storage is one.
    expect(zeebeImageEnvironment({}, { ZEEBE_RESTORE: 'true' }, noHostname)).toEqual({ env: { ZEEBE_RESTORE: 'true' }, notes: [] });
  });

  it('a backup id wins over the timestamp variables, as in the image, and the log says so', () => {
    const result = zeebeImageEnvironment(
      {},
      { ZEEBE_RESTORE_FROM_TIMESTAMP: 'a', ZEEBE_RESTORE_TO_TIMESTAMP: 'b', ZEEBE_RESTORE_FROM_BACKUP_ID: '7' },
      noHostname,
    );
    expect(result).toMatchObject({ backupId: '7' });
    expect(result.from).toBeUndefined();
    expect(result.notes).toContain(
      'Ignoring ZEEBE_RESTORE_FROM_TIMESTAMP and ZEEBE_RESTORE_TO_TIMESTAMP: a backup id is given, which wins, as in the Zeebe image.',
    );
  });

  it('--from/--to must agree with the variables when both are given; one fills in the other', () => {
    const env = { ZEEBE_RESTORE_FROM_TIMESTAMP: '2026-01-10T13:00:00Z', ZEEBE_RESTORE_TO_TIMESTAMP: '2026-01-10T14:00:00Z' };
    expect(zeebeImageEnvironment({ to: '2026-01-10T14:00:00Z' }, env, noHostname)).toMatchObject({
      from: '2026-01-10T13:00:00Z',
      to: '2026-01-10T14:00:00Z',
    });
    expect(usageError(() => zeebeImageEnvironment({ to: '2026-01-10T15:00:00Z' }, env, noHostname))).toBe(
      '--to=2026-01-10T15:00:00Z and ZEEBE_RESTORE_TO_TIMESTAMP=2026-01-10T14:00:00Z differ; pass one of them, or the same instant in both.',
    );
  });

  it('compares chains of backup ids as sets', () => {
    expect(zeebeImageEnvironment({ backupId: '8,7' }, { ZEEBE_RESTORE_FROM_BACKUP_ID: '7, 008' }, noHostname).backupId).toBe('8,7');
    expect(usageError(() => zeebeImageEnvironment({ backupId: '7,8' }, { ZEEBE_RESTORE_FROM_BACKUP_ID: '7' }, noHostname))).toMatch(
      /name different backups/,
    );
  });
});

describe('--node-id-from-hostname / ZEEBE_RESTORE_NODE_ID_FROM_HOSTNAME', () => {
  it('does nothing unless asked', () => {
    const env = { K8S_NAME: 'camunda-zeebe-2' };
    expect(zeebeImageEnvironment({}, env, noHostname)).toEqual({ env, notes: [] });
    expect(zeebeImageEnvironment({}, { ...env, ZEEBE_RESTORE_NODE_ID_FROM_HOSTNAME: 'false' }, noHostname).env).not.toHaveProperty(
      'CAMUNDA_CLUSTER_NODEID',
    );
  });

  it('sets the node id from K8S_NAME, without changing the given environment', () => {
    const env = { K8S_NAME: 'camunda-zeebe-2', HOSTNAME: 'other-5', ZEEBE_RESTORE_NODE_ID_FROM_HOSTNAME: 'true' };
    const result = zeebeImageEnvironment({}, env, noHostname);
    expect(result.env).toEqual({ ...env, CAMUNDA_CLUSTER_NODEID: '2' });
    expect(env).not.toHaveProperty('CAMUNDA_CLUSTER_NODEID');
    expect(result.notes).toEqual([
      'Node id 2 from the pod name camunda-zeebe-2 (K8S_NAME), as the Camunda Helm chart derives it; set as CAMUNDA_CLUSTER_NODEID.',
    ]);
  });

  it('falls back to HOSTNAME, then to the host name', () => {
    expect(zeebeImageEnvironment({ nodeIdFromHostname: true }, { HOSTNAME: 'zeebe-1' }, noHostname).env.CAMUNDA_CLUSTER_NODEID).toBe('1');
    expect(zeebeImageEnvironment({ nodeIdFromHostname: true }, {}, () => 'camunda-zeebe-10').env.CAMUNDA_CLUSTER_NODEID).toBe('10');
  });

  it('applies the multi-region formula of the chart', () => {
    const env = {
      K8S_NAME: 'camunda-zeebe-1',
      ZEEBE_RESTORE_MULTIREGION_REGIONS: '2',
      ZEEBE_RESTORE_MULTIREGION_REGIONID: '1',
    };
    const result = zeebeImageEnvironment({ nodeIdFromHostname: true }, env, noHostname);
    expect(result.env.CAMUNDA_CLUSTER_NODEID).toBe('3');
    expect(result.notes[0]).toContain('(ordinal × 2 + 1)');
    expect(
      usageError(() => zeebeImageEnvironment({ nodeIdFromHostname: true }, { ...env, ZEEBE_RESTORE_MULTIREGION_REGIONID: '2' }, noHostname)),
    ).toBe('ZEEBE_RESTORE_MULTIREGION_REGIONID=2 must be less than ZEEBE_RESTORE_MULTIREGION_REGIONS=2.');
  });

  it.each(['ZEEBE_BROKER_CLUSTER_NODEID', 'CAMUNDA_CLUSTER_NODEID', 'CAMUNDA_CLUSTER_NODE_ID'])(
    'keeps a node id already set in %s, like the chart keeps a preset one',
    (name) => {
      const env = { K8S_NAME: 'camunda-zeebe-2', [name]: '0' };
      const result = zeebeImageEnvironment({ nodeIdFromHostname: true }, env, noHostname);
      expect(result.env).toEqual(env);
      expect(result.notes).toEqual([`Node id from ${name}; the pod name is not used.`]);
    },
  );

  it("uses the 8.9 chart's VALUES_ORCHESTRATION_NODE_ID when it is preset", () => {
    const result = zeebeImageEnvironment({ nodeIdFromHostname: true }, { K8S_NAME: 'camunda-zeebe-2', VALUES_ORCHESTRATION_NODE_ID: '4' }, noHostname);
    expect(result.env.CAMUNDA_CLUSTER_NODEID).toBe('4');
  });

  it('reports a pod name without an ordinal as a usage error', () => {
    expect(usageError(() => zeebeImageEnvironment({ nodeIdFromHostname: true }, { K8S_NAME: 'zeebe-x' }, noHostname))).toMatch(
      /pod name 'zeebe-x'/,
    );
    expect(usageError(() => zeebeImageEnvironment({}, { ZEEBE_RESTORE_NODE_ID_FROM_HOSTNAME: 'maybe' }, noHostname))).toBe(
      'ZEEBE_RESTORE_NODE_ID_FROM_HOSTNAME=maybe must be true or false.',
    );
  });

  it("the derived id wins over the unresolved node-id placeholder of the 8.8+ charts' unified YAML", async () => {
    const cwd = await tempDir();
    await mkdir(join(cwd, 'config'));
    await writeFile(join(cwd, 'config/application.yaml'), 'camunda:\n  cluster:\n    node-id: "${VALUES_ORCHESTRATION_NODE_ID:}"\n    size: 3\n');
    const { env } = zeebeImageEnvironment({ nodeIdFromHostname: true }, { K8S_NAME: 'camunda-2' }, noHostname);
    const loaded = loadConfig({ cwd, env });
    expect(loaded.config.nodeId).toBe(2);
    expect(loaded.warnings).toEqual([]);
  });
});
