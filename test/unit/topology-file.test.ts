import { crc32c } from '@node-rs/crc32';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import type { RestoreConfig } from '../../src/config/restore-config.js';
import {
  brokerWritesTopologyFile,
  decodeTopologyFile,
  encodeTopologyFile,
  partitionDistribution,
  restoredClusterTopology,
} from '../../src/topology/cluster-topology.js';
import { projectRoot } from '../support/fixtures.js';

const config = (overrides: Partial<RestoreConfig>): RestoreConfig =>
  ({
    nodeId: 0,
    clusterSize: 3,
    partitionCount: 3,
    replicationFactor: 3,
    dataDirectory: '/data',
    partitioning: { scheme: 'ROUND_ROBIN' },
    nodeIdProvider: 'FIXED',
    backupStore: { type: 'NONE' },
    secondaryStorage: { type: 'elasticsearch' },
    restore: { validateConfig: true, ignoreFilesInTarget: [] },
    ...overrides,
  }) as RestoreConfig;

describe('.topology.meta as Zeebe 8.8+ restore writes it on node 0', () => {
  it('round-robin priorities match Zeebe\'s RoundRobinPartitionDistributor (its Javadoc table: 4 nodes, 5 partitions, RF 3)', () => {
    const byMember = partitionDistribution(config({ clusterSize: 4, partitionCount: 5, replicationFactor: 3 }));
    const table = [1, 2, 3, 4, 5].map((p) => [0, 1, 2, 3].map((node) => byMember.get(node)?.get(p) ?? null));
    expect(table).toEqual([
      [3, 2, 1, null],
      [null, 3, 2, 1],
      [1, null, 3, 2],
      [2, 1, null, 3],
      [3, 1, 2, null],
    ]);
  });

  it('FIXED partitioning uses the configured priorities', () => {
    const fixed = config({
      clusterSize: 2,
      partitionCount: 1,
      replicationFactor: 2,
      partitioning: { scheme: 'FIXED', fixed: [{ partitionId: 1, nodes: [{ nodeId: 0, priority: 5 }, { nodeId: 1 }] }] },
    });
    expect(partitionDistribution(fixed)).toEqual(new Map([[0, new Map([[1, 5]])], [1, new Map([[1, 1]])]]));
  });

  it('header: version 1, the CRC32C of the body as a little-endian long; the body decodes to the static configuration', () => {
    const startedAt = new Date('2026-01-10T14:00:00.123Z');
    const file = encodeTopologyFile(restoredClusterTopology(config({ clusterSize: 3, partitionCount: 4, replicationFactor: 2 }), startedAt));
    expect(file[0]).toBe(1);
    expect(file.readBigInt64LE(1)).toBe(BigInt(crc32c(file.subarray(9))));
    // Decoded independently of the agent's helpers, with protobufjs and the .proto alone.
    const root = protobuf.parse(readFileSync(join(projectRoot, 'src/topology/topology.proto'), 'utf8'), { keepCase: true }).root;
    root.addJSON(protobuf.common.get('google/protobuf/timestamp.proto')!.nested!);
    const type = root.lookupType('topology_protocol.ClusterTopology');
    const decoded = type.toObject(type.decode(file.subarray(9)), { longs: String, enums: String });
    const partition = (priority: number) => ({ state: 'ACTIVE', priority, config: { exporting: {} } });
    const member = (partitions: Record<string, unknown>) => ({ lastUpdated: { seconds: '-31557014167219200', nanos: 0 }, state: 'ACTIVE', partitions });
    expect(decoded).toEqual({
      version: '1',
      members: {
        '0': member({ 1: partition(2), 3: partition(1), 4: partition(2) }),
        '1': member({ 1: partition(1), 2: partition(2), 4: partition(1) }),
        '2': member({ 2: partition(1), 3: partition(2) }),
      },
      currentChange: {
        id: '1',
        version: 1,
        status: 'IN_PROGRESS',
        startedAt: { seconds: '1768053600', nanos: 123_000_000 },
        pendingOperations: [{ memberId: '0', updateRoutingState: {} }],
      },
      routingState: { version: '1', requestHandling: { allPartitions: { partitionCount: 4 } }, messageCorrelation: { hashMod: { partitionCount: 4 } } },
    });
    expect(decodeTopologyFile(file)).toEqual(decoded);
  });

  it('a damaged file is detected by its checksum', () => {
    const file = encodeTopologyFile(restoredClusterTopology(config({}), new Date()));
    file[file.length - 1] = file[file.length - 1]! ^ 0xff;
    expect(() => decodeTopologyFile(file)).toThrow(/checksum/);
  });

  it('only brokers 8.8 and later write it', () => {
    expect(['8.5.4', '8.7.12', '8.8.0', '8.8.0-SNAPSHOT', '8.9.1', '9.0.0', undefined, 'x'].map(brokerWritesTopologyFile)).toEqual([
      false,
      false,
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
  });
});
