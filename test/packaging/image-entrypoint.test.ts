import { spawn } from 'node:child_process';
import { readdir, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, tempDir, writeClusterBackup } from '../support/fixtures.js';
import { messageOf, runRestore } from '../support/run-restore.js';

/**
 * The container image runs `bin/restore` with no arguments (ENTRYPOINT, no CMD) in the broker's
 * working directory, configured only by the variables a Zeebe deployment already sets. These tests
 * run the same entry point the same way, outside Docker: a working directory with the broker's
 * config/application.yaml, no arguments, the Zeebe image's ZEEBE_RESTORE_* variables, and K8S_NAME
 * as the Helm chart's StatefulSet sets it.
 */
let home: string;
let backups: string;

beforeAll(async () => {
  const work = await tempDir();
  backups = join(work, 'backups');
  await writeClusterBackup({ basePath: backups, backupId: 1763683200000n, partitionCount: 3 });
  // The chart's application.yaml: cluster layout and store, no node id (startup.sh sets it).
  home = join(work, 'usr/local/zeebe');
  await mkdir(join(home, 'config'), { recursive: true });
  await writeFile(
    join(home, 'config/application.yaml'),
    [
      'zeebe:',
      '  broker:',
      '    cluster:',
      '      clusterSize: "3"',
      '      partitionsCount: "3"',
      '      replicationFactor: "1"',
      '    data:',
      '      backup:',
      '        store: FILESYSTEM',
      '        filesystem:',
      `          basePath: ${backups}`,
      '',
    ].join('\n'),
  );
});

it('/usr/local/{camunda,zeebe}/bin/restore run the agent with the directory above bin/ as the broker home, from any working directory', async () => {
  // The image's wrapper, pointed at this checkout's agent instead of the image's /opt/zeebe-restore.
  const wrapper = (await readFile(join(projectRoot, 'docker/restore-in-home'), 'utf8')).replace('/opt/zeebe-restore/bin/restore', join(projectRoot, 'bin/restore'));
  const installed = join(home, 'bin/restore');
  await mkdir(join(home, 'bin'), { recursive: true });
  await writeFile(installed, wrapper, { mode: 0o755 });
  const elsewhere = await tempDir();
  const run = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(installed, ['--backupId=1763683200000'], { cwd: elsewhere, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ZEEBE_BROKER_CLUSTER_NODEID: '2' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
  expect(run.code, run.output).toBe(0);
  expect(await readdir(join(home, 'data/raft-partition/partitions'))).toEqual(['3']);
  expect(await readdir(elsewhere)).toEqual([]);
  await rm(join(home, 'data'), { recursive: true });
});

it('the Dockerfile runs bin/restore with no default arguments', async () => {
  const dockerfile = await readFile(join(projectRoot, 'Dockerfile'), 'utf8');
  expect(dockerfile).toMatch(/^ENTRYPOINT \["\/opt\/zeebe-restore\/bin\/restore"\]$/m);
  expect(dockerfile).not.toMatch(/^CMD /m);
});

describe('the image entry point with the Zeebe image environment', () => {
  it('restores the backup named by ZEEBE_RESTORE_FROM_BACKUP_ID, as the node the pod name gives', async () => {
    const run = await runRestore([], {
      cwd: home,
      env: {
        ZEEBE_RESTORE: 'true',
        ZEEBE_RESTORE_FROM_BACKUP_ID: '1763683200000',
        ZEEBE_RESTORE_NODE_ID_FROM_HOSTNAME: 'true',
        K8S_NAME: 'camunda-zeebe-1',
      },
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('Backup id 1763683200000 from ZEEBE_RESTORE_FROM_BACKUP_ID.');
    expect(run.stdout).toContain('Node id 1 from the pod name camunda-zeebe-1 (K8S_NAME), as the Camunda Helm chart derives it');
    expect(messageOf(run.lastLine)).toBe('Successfully restored broker from backup 1763683200000');
    // Replication factor 1: node 1 owns partition 2 alone, so the data proves the derived node id.
    expect(await readdir(join(home, 'data/raft-partition/partitions'))).toEqual(['2']);
  });

  it('without a backup id from either place it is a usage error naming both', async () => {
    const run = await runRestore([], { cwd: home, env: {} });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'Missing required argument: --backupId=<id>[,<id>…] (or ZEEBE_RESTORE_FROM_BACKUP_ID), or --from=<instant>/--to=<instant> ' +
        '(or ZEEBE_RESTORE_FROM_TIMESTAMP/ZEEBE_RESTORE_TO_TIMESTAMP).',
    );
  });

  it('an invalid ZEEBE_RESTORE_FROM_BACKUP_ID is judged like --backupId, and the log names where it came from', async () => {
    const run = await runRestore([], { cwd: home, env: { ZEEBE_RESTORE_FROM_BACKUP_ID: 'yesterday' } });
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('Backup id yesterday from ZEEBE_RESTORE_FROM_BACKUP_ID.');
    expect(run.stderr).toMatch(/--backupId must be a backup id: .*'yesterday'/);
  });

  it('a time range from the Zeebe image variables becomes --from/--to, as the image passes them', async () => {
    // The fixture backup carries no checkpoint timestamp (brokers before 8.9): its manifest's createdAt, now, counts.
    // Whole seconds plus 123 ms: the agent prints instants without a `.000` fraction.
    const hour = Math.floor(Date.now() / 1000) * 1000 + 3_600_123;
    const from = new Date(hour).toISOString();
    const to = new Date(hour + 3_600_000).toISOString();
    const run = await runRestore(['--dry-run'], {
      cwd: home,
      env: { ZEEBE_RESTORE_FROM_TIMESTAMP: from, ZEEBE_RESTORE_TO_TIMESTAMP: to, ZEEBE_BROKER_CLUSTER_NODEID: '2' },
    });
    expect(run.stderr).toContain(`--from=${from} from ZEEBE_RESTORE_FROM_TIMESTAMP.`);
    expect(run.stderr).toContain(`--to=${to} from ZEEBE_RESTORE_TO_TIMESTAMP.`);
    expect(run.stdout).toContain(`Plan: restore the time range --from=${from} --to=${to} on node 2 of 3`);
    expect(run.stdout).toMatch(/Restore point: checkpoint 1763683200000 \(.*\), common to all 3 partitions; chosen from the backup manifests/);
  });

  it('--backupId and a different ZEEBE_RESTORE_FROM_BACKUP_ID are a usage error', async () => {
    const run = await runRestore(['--backupId=5'], { cwd: home, env: { ZEEBE_RESTORE_FROM_BACKUP_ID: '6' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--backupId=5 and ZEEBE_RESTORE_FROM_BACKUP_ID=6 name different backups');
  });

  it('a pod name without an ordinal is a usage error, before anything is read or written', async () => {
    const run = await runRestore(['--node-id-from-hostname'], {
      cwd: home,
      env: { ZEEBE_RESTORE_FROM_BACKUP_ID: '1763683200000', K8S_NAME: 'zeebe' },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Cannot derive the node id from the pod name 'zeebe'");
  });
});
