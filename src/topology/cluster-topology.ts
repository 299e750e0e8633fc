import { crc32c } from '../util/crc32c.js';
import type * as Protobuf from 'protobufjs';
import { partitionsOwnedBy } from '../cluster/partition-layout.js';
import type { RestoreConfig } from '../config/restore-config.js';
import { readFileSync } from 'node:fs';
import { requireCommonJs } from '../util/common-js.js';

const protobuf = requireCommonJs('protobufjs') as typeof Protobuf;

/**
 * `<data>/.topology.meta`, which Zeebe 8.8+'s restore writes on node 0 (`RestoreManager.
 * restoreTopologyFile`): the cluster configuration generated from the static configuration
 * (`StaticConfiguration.generateTopology` → `ConfigurationUtil.getClusterConfigFrom`) with one
 * pending change, an `UpdateRoutingState` for member 0, which makes the coordinator recompute the
 * routing state once the restored cluster runs. The file (`PersistedClusterConfiguration`) is one
 * version byte (1), the CRC32C of the body as a little-endian long, then the body: the protobuf
 * `ClusterTopology` of topology.proto, as `ProtoBufSerializer` encodes it.
 */
export { brokerWritesTopologyFile, topologyFileName } from './topology-file-name.js';
const fileFormatVersion = 1;
const headerLength = 1 + 8;

/** `ClusterConfiguration.INITIAL_VERSION`, the version of a configuration generated from static config. */
const initialConfigurationVersion = 1;
/** `MemberState.initializeAsActive` stamps members with `Instant.MIN`: its epoch second. */
const instantMinSeconds = '-31557014167219200';
/** `ClusterChangePlan.init(1L, …)` in the restore: id 1, version 1. */
const restoreChangeId = 1;

let root: Protobuf.Root | undefined;

/** The parsed topology.proto; `google/protobuf/timestamp.proto` comes with protobufjs. */
export function topologyTypes(): Protobuf.Root {
  if (!root) {
    // Next to this module in src/ and, copied by the build, in dist/.
    const topologyProto = readFileSync(new URL('./topology.proto', import.meta.url), 'utf8');
    const parsed = protobuf.parse(topologyProto, { keepCase: true }).root;
    parsed.addJSON(protobuf.common.get('google/protobuf/timestamp.proto')!.nested!);
    parsed.resolveAll();
    root = parsed;
  }
  return root;
}

export function clusterTopologyType(): Protobuf.Type {
  return topologyTypes().lookupType('topology_protocol.ClusterTopology');
}

/** A member's partitions with their Raft priorities, as Zeebe's distributors assign them. */
export type PartitionDistribution = Map<number, Map<number, number>>;

/**
 * Zeebe's `RoundRobinPartitionDistributor`: partition i (0-based) goes to members i … i+k-1
 * (mod N, members sorted by node id, k = min(RF, N)); the primary gets priority RF, the others
 * RF-1, RF-2, … or, every other block of N partitions, 1, 2, … so that leadership spreads evenly
 * when a node fails. With FIXED partitioning the configured priorities apply (default 1).
 */
export function partitionDistribution(config: RestoreConfig): PartitionDistribution {
  const byMember: PartitionDistribution = new Map();
  const assign = (nodeId: number, partitionId: number, priority: number) => {
    const partitions = byMember.get(nodeId) ?? new Map<number, number>();
    partitions.set(partitionId, priority);
    byMember.set(nodeId, partitions);
  };
  if (config.partitioning.scheme === 'FIXED') {
    for (const { partitionId, nodes } of config.partitioning.fixed) {
      for (const node of nodes) assign(node.nodeId, partitionId, node.priority ?? 1);
    }
    return byMember;
  }
  const { clusterSize, replicationFactor, partitionCount } = config;
  const count = Math.min(replicationFactor, clusterSize);
  for (let i = 0; i < partitionCount; i++) {
    const partitionId = i + 1;
    const members = Array.from({ length: count }, (_, j) => (i + j) % clusterSize);
    const primary = i % clusterSize;
    assign(primary, partitionId, replicationFactor);
    const descending = Math.floor(i / clusterSize) % 2 === 0;
    let next = descending ? replicationFactor - 1 : 1;
    for (const member of members) {
      if (member === primary) continue;
      assign(member, partitionId, next);
      next += descending ? -1 : 1;
    }
  }
  return byMember;
}

/**
 * The `ClusterTopology` message Zeebe's restore persists, as a plain object for protobufjs (longs as
 * decimal strings). Exporters: Zeebe lists the broker's configured exporters as ENABLED; this agent
 * does not read exporter settings and writes none, which a broker treats alike: on start-up its
 * `ExporterStateInitializer` adds every configured exporter as ENABLED. No cluster id is written
 * (Zeebe writes `cluster.clusterId` only when one is configured).
 */
export function restoredClusterTopology(config: RestoreConfig, startedAt: Date): Record<string, unknown> {
  // Validates the layout (FIXED) the same way the restore did.
  partitionsOwnedBy({ ...config, nodeId: 0 });
  const members: Record<string, unknown> = {};
  for (const [nodeId, partitions] of [...partitionDistribution(config)].sort(([a], [b]) => a - b)) {
    const states: Record<string, unknown> = {};
    for (const [partitionId, priority] of [...partitions].sort(([a], [b]) => a - b)) {
      states[String(partitionId)] = { state: 'ACTIVE', priority, config: { exporting: { exporters: {} } } };
    }
    members[String(nodeId)] = {
      lastUpdated: { seconds: instantMinSeconds, nanos: 0 },
      state: 'ACTIVE',
      partitions: states,
    };
  }
  const millis = startedAt.getTime();
  return {
    version: String(initialConfigurationVersion),
    members,
    currentChange: {
      id: String(restoreChangeId),
      version: 1,
      status: 'IN_PROGRESS',
      startedAt: { seconds: String(Math.floor(millis / 1000)), nanos: (millis % 1000) * 1_000_000 },
      pendingOperations: [{ memberId: '0', updateRoutingState: {} }],
    },
    routingState: {
      version: '1',
      requestHandling: { allPartitions: { partitionCount: config.partitionCount } },
      messageCorrelation: { hashMod: { partitionCount: config.partitionCount } },
    },
  };
}

/** The bytes of `.topology.meta` for a `ClusterTopology` object. */
export function encodeTopologyFile(topology: Record<string, unknown>): Buffer {
  const type = clusterTopologyType();
  const body = Buffer.from(type.encode(type.fromObject(topology)).finish());
  const file = Buffer.alloc(headerLength + body.length);
  file.writeUInt8(fileFormatVersion, 0);
  // Java's CRC32C.getValue(): the unsigned 32-bit checksum in a long.
  file.writeBigInt64LE(BigInt(crc32c(body)), 1);
  body.copy(file, headerLength);
  return file;
}

/** Reads a `.topology.meta` back (header checked), as a plain object with longs as strings. */
export function decodeTopologyFile(file: Buffer): Record<string, unknown> {
  if (file.length < headerLength) throw new Error(`a topology file has at least ${headerLength} bytes, this one ${file.length}`);
  const version = file.readUInt8(0);
  if (version !== fileFormatVersion) throw new Error(`topology file version ${version}, expected ${fileFormatVersion}`);
  const body = file.subarray(headerLength);
  const expected = file.readBigInt64LE(1);
  const actual = BigInt(crc32c(body));
  if (expected !== actual) throw new Error(`topology file checksum ${expected} does not match its body's ${actual}`);
  const type = clusterTopologyType();
  return type.toObject(type.decode(body), { longs: String, enums: String }) as Record<string, unknown>;
}
