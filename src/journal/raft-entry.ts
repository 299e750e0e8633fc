/*
 * The Raft entry a journal record's data holds, in Zeebe's SBE encoding (schema id 8, little-endian):
 * `zeebe/atomix/cluster/src/main/resources/raft-entry-schema.xml` and `RaftEntrySBESerializer`
 * (Zeebe 8.3 to 8.9; entry messages unchanged, only the schema version grew from 2 to 4). An entry
 * is a `RaftLogEntry` message (term, entry type), followed, for application and configuration
 * entries, by a second message with its own header. Every message header is blockLength,
 * templateId, schemaId and version (u16 each); a reader skips `blockLength` bytes of a block, so
 * newer versions that append fields stay readable.
 */

const SCHEMA_ID = 8;
/** The version Zeebe 8.5 writes (8.3/8.4: 2, 8.7+: 4); entries are laid out the same in all. */
const SCHEMA_VERSION = 3;
const HEADER_LENGTH = 8;
const GROUP_HEADER_LENGTH = 3;

const Template = { raftLogEntry: 1, applicationEntry: 2, configurationEntry: 4 } as const;
const EntryType = { application: 0, configuration: 1, initial: 2 } as const;

export const memberTypes = ['INACTIVE', 'PASSIVE', 'PROMOTABLE', 'ACTIVE'] as const;
export type MemberType = (typeof memberTypes)[number];

export interface RaftMember {
  /** `"0"`, `"1"`, …: Zeebe's member id of a broker is its node id (`"<zone>/<id>"` on 8.10 with zones). */
  id: string;
  type: MemberType;
  /** When the member last changed, epoch milliseconds. */
  updated: bigint;
}

export type RaftEntry =
  | { kind: 'application'; term: bigint; lowestPosition: bigint; highestPosition: bigint }
  | { kind: 'initial'; term: bigint }
  | {
      kind: 'configuration';
      term: bigint;
      timestamp: bigint;
      members: RaftMember[];
      /** Non-empty while a membership change is under way (joint consensus). */
      oldMembers: RaftMember[];
    };

/** A cursor over the record data that says "not a Raft entry" instead of reading out of bounds. */
class Reader {
  private offset = 0;
  constructor(private readonly data: Buffer) {}

  get remaining(): number {
    return this.data.length - this.offset;
  }

  bytes(length: number): Buffer | undefined {
    if (length < 0 || length > this.remaining) return undefined;
    const view = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }

  /** A message header with this schema and template; returns its block. */
  block(templateId: number, minimumLength: number): Buffer | undefined {
    const header = this.bytes(HEADER_LENGTH);
    if (!header || header.readUInt16LE(2) !== templateId || header.readUInt16LE(4) !== SCHEMA_ID) return undefined;
    const blockLength = header.readUInt16LE(0);
    return blockLength < minimumLength ? undefined : this.bytes(blockLength);
  }

  /** A `varDataEncoding` or `blob`: u32 length, then the bytes. */
  varData(): Buffer | undefined {
    const length = this.bytes(4);
    return length && this.bytes(length.readUInt32LE(0));
  }

  members(): RaftMember[] | undefined {
    const header = this.bytes(GROUP_HEADER_LENGTH);
    if (!header) return undefined;
    const blockLength = header.readUInt16LE(0);
    const members: RaftMember[] = [];
    for (let count = header.readUInt8(2); count > 0; count--) {
      const block = blockLength >= 9 ? this.bytes(blockLength) : undefined;
      const id = this.varData();
      const type = block && memberTypes[block.readUInt8(0)];
      if (!block || !id || !type) return undefined;
      members.push({ id: id.toString('utf8'), type, updated: block.readBigInt64LE(1) });
    }
    return members;
  }
}

/**
 * The Raft entry in a journal record's data, or undefined when the data is not one this agent can
 * decode (test journals with random payloads, or a format it does not know).
 */
export function decodeRaftEntry(data: Buffer): RaftEntry | undefined {
  const reader = new Reader(data);
  const frame = reader.block(Template.raftLogEntry, 9);
  if (!frame) return undefined;
  const term = frame.readBigUInt64LE(0);
  switch (frame.readUInt8(8)) {
    case EntryType.initial:
      return { kind: 'initial', term };
    case EntryType.application: {
      const block = reader.block(Template.applicationEntry, 16);
      const applicationData = block && reader.varData();
      if (!block || !applicationData || reader.remaining !== 0) return undefined;
      return { kind: 'application', term, lowestPosition: block.readBigInt64LE(0), highestPosition: block.readBigInt64LE(8) };
    }
    case EntryType.configuration: {
      const block = reader.block(Template.configurationEntry, 8);
      const members = block && reader.members();
      // Absent before schema version 2; Zeebe 8.x always writes the group.
      const oldMembers = members && (reader.remaining === 0 ? [] : reader.members());
      if (!block || !members || !oldMembers || reader.remaining !== 0) return undefined;
      return { kind: 'configuration', term, timestamp: block.readBigUInt64LE(0), members, oldMembers };
    }
    default:
      return undefined;
  }
}

/**
 * Whether the data may hold a configuration entry, from its entry-type byte alone: a cheap filter
 * for a scan over every entry of a log, before decodeRaftEntry decides.
 */
export function mayBeConfigurationEntry(data: Buffer): boolean {
  // The RaftLogEntry header, then its 8-byte term, then the type.
  return data[HEADER_LENGTH + 8] === EntryType.configuration;
}

/** The node id a Raft member id names: `"2"` and `"zone-a/2"` → 2; undefined for anything else. */
export function nodeIdOfMember(id: string): number | undefined {
  const match = /(?:^|\/)(\d+)$/.exec(id);
  return match ? Number(match[1]) : undefined;
}

/** A message header of schema 8 followed by its block. */
function message(templateId: number, block: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt16LE(block.length, 0);
  header.writeUInt16LE(templateId, 2);
  header.writeUInt16LE(SCHEMA_ID, 4);
  header.writeUInt16LE(SCHEMA_VERSION, 6);
  return Buffer.concat([header, block]);
}

function raftFrame(term: bigint, type: number): Buffer {
  const block = Buffer.alloc(9);
  block.writeBigUInt64LE(term, 0);
  block.writeUInt8(type, 8);
  return message(Template.raftLogEntry, block);
}

function varData(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32LE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
}

function memberGroup(members: readonly RaftMember[]): Buffer {
  const header = Buffer.alloc(GROUP_HEADER_LENGTH);
  header.writeUInt16LE(9, 0);
  header.writeUInt8(members.length, 2);
  return Buffer.concat([
    header,
    ...members.flatMap((member) => {
      const block = Buffer.alloc(9);
      block.writeUInt8(memberTypes.indexOf(member.type), 0);
      block.writeBigInt64LE(member.updated, 1);
      return [block, varData(Buffer.from(member.id, 'utf8'))];
    }),
  ]);
}

/**
 * Encodes an entry as a Zeebe 8.5 broker writes it (`RaftEntrySBESerializer`): for journals that
 * look like a broker's in the demo, benchmarks and tests. `data` is an application entry's
 * payload (a logstreams batch in a real broker).
 */
export function encodeRaftEntry(entry: RaftEntry, data: Buffer = Buffer.alloc(0)): Buffer {
  switch (entry.kind) {
    case 'initial':
      return raftFrame(entry.term, EntryType.initial);
    case 'application': {
      const block = Buffer.alloc(16);
      block.writeBigInt64LE(entry.lowestPosition, 0);
      block.writeBigInt64LE(entry.highestPosition, 8);
      return Buffer.concat([raftFrame(entry.term, EntryType.application), message(Template.applicationEntry, block), varData(data)]);
    }
    case 'configuration': {
      const block = Buffer.alloc(8);
      block.writeBigUInt64LE(entry.timestamp, 0);
      return Buffer.concat([
        raftFrame(entry.term, EntryType.configuration),
        message(Template.configurationEntry, block),
        memberGroup(entry.members),
        memberGroup(entry.oldMembers),
      ]);
    }
  }
}
