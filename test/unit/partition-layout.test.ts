import { describe, expect, it } from 'vitest';
import { partitionsOwnedBy } from '../../src/cluster/partition-layout.js';
import type { FixedPartition, RestoreConfig } from '../../src/config/restore-config.js';
import { UsageError } from '../../src/errors.js';

function config(cluster: Pick<RestoreConfig, 'clusterSize' | 'partitionCount' | 'replicationFactor' | 'nodeId'>, fixed?: FixedPartition[]): RestoreConfig {
  return {
    ...cluster,
    dataDirectory: '/data',
    partitioning: fixed === undefined ? { scheme: 'ROUND_ROBIN' } : { scheme: 'FIXED', fixed },
    nodeIdProvider: 'FIXED',
    backupStore: { type: 'NONE' },
    secondaryStorage: { type: 'elasticsearch' },
    restore: { validateConfig: true, ignoreFilesInTarget: ['lost+found'] },
  };
}

function layoutError(restoreConfig: RestoreConfig): UsageError {
  try {
    partitionsOwnedBy(restoreConfig);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected partitionsOwnedBy to fail');
}

describe('partitionsOwnedBy, round robin', () => {
  it('gives every node every partition when the replication factor equals the cluster size', () => {
    for (const nodeId of [0, 1, 2]) {
      expect(partitionsOwnedBy(config({ clusterSize: 3, partitionCount: 3, replicationFactor: 3, nodeId }))).toEqual([1, 2, 3]);
    }
  });

  it.each([
    [0, [1, 4]],
    [1, [1, 2]],
    [2, [1, 2, 3]],
    [3, [2, 3, 4]],
    [4, [3, 4]],
  ])('cluster 5, partitions 4, RF 3: node %d restores %j', (nodeId, expected) => {
    expect(partitionsOwnedBy(config({ clusterSize: 5, partitionCount: 4, replicationFactor: 3, nodeId }))).toEqual(expected);
  });

  it('caps the replication factor at the cluster size', () => {
    expect(partitionsOwnedBy(config({ clusterSize: 2, partitionCount: 3, replicationFactor: 5, nodeId: 1 }))).toEqual([1, 2, 3]);
  });

  it('rejects a node id outside the cluster, pointing at the pod ordinal', () => {
    const error = layoutError(config({ clusterSize: 3, partitionCount: 3, replicationFactor: 3, nodeId: 3 }));
    expect(error.message).toContain('nodes are numbered 0..2');
    expect(error.message).toContain('pod ordinal');
  });

  it('rejects a node that owns no partition', () => {
    const error = layoutError(config({ clusterSize: 4, partitionCount: 1, replicationFactor: 1, nodeId: 3 }));
    expect(error.message).toContain('Node 3 is not a member of any partition');
  });
});

describe('partitionsOwnedBy, FIXED', () => {
  const cluster = { clusterSize: 3, partitionCount: 3, replicationFactor: 2 };
  const fixed: FixedPartition[] = [
    { partitionId: 3, nodes: [{ nodeId: 0 }, { nodeId: 2 }] },
    { partitionId: 1, nodes: [{ nodeId: 0, priority: 2 }, { nodeId: 1, priority: 1 }] },
    { partitionId: 2, nodes: [{ nodeId: 1 }, { nodeId: 2 }] },
  ];

  it('uses the configured lists', () => {
    expect(partitionsOwnedBy(config({ ...cluster, nodeId: 0 }, fixed))).toEqual([1, 3]);
    expect(partitionsOwnedBy(config({ ...cluster, nodeId: 1 }, fixed))).toEqual([1, 2]);
    expect(partitionsOwnedBy(config({ ...cluster, nodeId: 2 }, fixed))).toEqual([2, 3]);
  });

  it('reports every layout problem at once', () => {
    const broken: FixedPartition[] = [
      { partitionId: 1, nodes: [{ nodeId: 0 }, { nodeId: 5 }] },
      { partitionId: 4, nodes: [{ nodeId: 0 }, { nodeId: 1 }] },
      { partitionId: 4, nodes: [{ nodeId: 1 }] },
    ];
    const message = layoutError(config({ ...cluster, nodeId: 0 }, broken)).message;
    expect(message).toContain('partitions 4 are listed more than once');
    expect(message).toContain('partitions 2, 3 are not listed');
    expect(message).toContain('partition 1 names node 5, but nodes are numbered 0..2');
    expect(message).toContain('partition 4 does not exist');
    expect(message).toContain('partition 4 has 1 members, but the replication factor is 2');
  });

  it('rejects a node that the layout does not name', () => {
    const twoNodes: FixedPartition[] = fixed.map((p) => ({ ...p, nodes: [{ nodeId: 0 }, { nodeId: 1 }] }));
    expect(layoutError(config({ ...cluster, nodeId: 2 }, twoNodes)).message).toContain('Node 2 is not a member of any partition');
  });
});
