import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot, tempDir, writeClusterBackup } from '../support/fixtures.js';
import { externalTool, runTool } from './tools.js';

const directory = join(projectRoot, 'examples/ansible');
const ansible = externalTool('ansible-playbook', ['--version'], 'ansible');

/** ansible-playbook with its state in a temporary home, run from the playbook's directory (ansible.cfg). */
async function ansiblePlaybook(args: string[]) {
  const home = await tempDir('zeebe-restore-ansible-home-');
  return runTool('ansible-playbook', args, {
    cwd: directory,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      ANSIBLE_LOCAL_TEMP: join(home, 'tmp'),
      ANSIBLE_REMOTE_TEMP: join(home, 'remote-tmp'),
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_RETRY_FILES_ENABLED: '0',
    },
  });
}

/**
 * Three broker "hosts" on this machine (connection local), each with its own working directory,
 * and a backup of 3 partitions with replication factor 1, so each node restores one partition.
 * The broker stop/start tasks (tag `broker`) need a running systemd and are skipped here.
 */
async function localCluster() {
  const work = await tempDir();
  await writeClusterBackup({ basePath: join(work, 'backups'), backupId: 7n, partitionCount: 3 });
  const hosts = [0, 1, 2].map((nodeId) => ({ name: `broker${nodeId}`, nodeId, home: join(work, `node-${nodeId}`) }));
  for (const host of hosts) await mkdir(host.home, { recursive: true });
  const inventory = join(work, 'inventory.ini');
  await writeFile(
    inventory,
    [
      '[zeebe_brokers]',
      ...hosts.map((host) => `${host.name} zeebe_node_id=${host.nodeId} zeebe_home=${host.home}`),
      '[zeebe_brokers:vars]',
      'ansible_connection=local',
      'ansible_python_interpreter=/usr/bin/python3',
      '',
    ].join('\n'),
  );
  const extraVars = join(work, 'vars.json');
  await writeFile(
    extraVars,
    JSON.stringify({
      backup_id: '7',
      zeebe_become: false,
      zeebe_restore_command: join(projectRoot, 'bin/restore'),
      zeebe_restore_environment: {
        ZEEBE_BROKER_CLUSTER_CLUSTERSIZE: '3',
        ZEEBE_BROKER_CLUSTER_PARTITIONSCOUNT: '3',
        ZEEBE_BROKER_CLUSTER_REPLICATIONFACTOR: '1',
        ZEEBE_BROKER_DATA_BACKUP_STORE: 'FILESYSTEM',
        ZEEBE_BROKER_DATA_BACKUP_FILESYSTEM_BASEPATH: join(work, 'backups'),
      },
    }),
  );
  const play = (...more: string[]) =>
    ansiblePlaybook(['-i', inventory, 'restore.yml', '--skip-tags', 'broker', '-e', `@${extraVars}`, ...more]);
  return { hosts, inventory, play };
}

describe.skipIf(!ansible.available)('examples/ansible/restore.yml', () => {
  it('passes ansible-playbook --syntax-check', async () => {
    const run = await ansiblePlaybook(['--syntax-check', '-i', 'inventory.example.ini', 'restore.yml']);
    expect(run.status, run.output).toBe(0);
    expect(run.output).not.toMatch(/WARNING|ERROR/);
  });

  it('stops the brokers, restores, checks every node, then starts the brokers, in that order', async () => {
    const run = await ansiblePlaybook(['--list-tasks', '-i', 'inventory.example.ini', 'restore.yml']);
    expect(run.status, run.output).toBe(0);
    const tasks = [...run.output.matchAll(/^\s{6}(\S.*?)\s+TAGS: \[(.*)\]$/gm)].map(([, name, tags]) => `${name} [${tags}]`);
    expect(tasks).toEqual([
      'Check the backup id and this node\'s id []',
      'Check that every node has its own node id []',
      'Note that not every node can restore at once []',
      'Stop the broker [broker]',
      'Restore this node from the backup []',
      'Show this node\'s result []',
      'Require a successful restore on every node []',
      'Start the broker [broker]',
    ]);
  });

  it('restores every node with its own node id from the inventory', async () => {
    const cluster = await localCluster();
    const run = await cluster.play();
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain('Every node restored backup 7.');
    for (const host of cluster.hosts) {
      expect(run.output).toContain(`node ${host.nodeId}: exit code 0 (restored): `);
      expect(await readdir(join(host.home, 'data/raft-partition/partitions'))).toEqual([String(host.nodeId + 1)]);
    }
  });

  it('fails the play, naming the node and its exit code, when one node fails', async () => {
    const cluster = await localCluster();
    const broken = cluster.hosts[2]!;
    await mkdir(join(broken.home, 'data'), { recursive: true });
    await writeFile(join(broken.home, 'data/leftover'), 'not empty');
    const run = await cluster.play();
    expect(run.status, run.output).not.toBe(0);
    expect(run.output).toContain('Not restored: broker2 (node 2): exit code 3, the data directory is not empty. Every broker stays stopped.');
    expect(run.output).toContain('node 2: exit code 3 (the data directory is not empty)');
    // The other nodes ran at the same time and were restored; their results are recorded too.
    expect(run.output).toContain('node 0: exit code 0 (restored)');
    expect(run.output).toContain('node 1: exit code 0 (restored)');
  });

  it('counts a node whose restore could not even start as failed', async () => {
    const cluster = await localCluster();
    const run = await cluster.play('-e', `zeebe_home=${join(cluster.hosts[0]!.home, 'missing')}`);
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/node 0: the restore did not run: Unable to change directory/);
    expect(run.output).toContain('Not restored: broker0 (node 0): the restore did not run; broker1 (node 1): the restore did not run;');
  });

  it('refuses two hosts with the same node id before touching any broker', async () => {
    const cluster = await localCluster();
    const run = await cluster.play('-e', 'zeebe_node_id=1');
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('Two hosts share a zeebe_node_id (1, 1, 1)');
    expect(run.output).not.toContain('TASK [Restore this node from the backup]');
  });
});
