import { decodeRaftEntry, mayBeConfigurationEntry, type RaftMember } from './raft-entry.js';

/** What a broker starting on a restored journal depends on, gathered from its entries in one pass. */
export interface LogSummary {
  firstIndex: bigint;
  lastIndex: bigint;
  /**
   * The Zeebe positions the log holds: from the first application entry's first position to the
   * last one's last (a batch's positions run from its journal asqn to its highest position).
   * Undefined when no entry has a position.
   */
  positions?: { first: bigint; last: bigint };
  /** The newest Raft configuration entry, if the log holds one this agent can decode. */
  configuration?: { index: bigint; members: RaftMember[]; oldMembers: RaftMember[] };
}

/**
 * Collects a LogSummary from a journal's entries, fed in index order. Only the last positioned
 * entry's data is decoded for its highest position, so `summary()` must be taken while that data
 * is still valid: right after the last entry was added, as the journal scans end at a checkpoint.
 */
export class LogSummaryBuilder {
  private firstIndex: bigint | undefined;
  private lastIndex = 0n;
  private firstPosition: bigint | undefined;
  private lastPositioned: { asqn: bigint; data: Buffer } | undefined;
  private configuration: LogSummary['configuration'];

  add(entry: { index: bigint; asqn: bigint; data: Buffer }): void {
    this.firstIndex ??= entry.index;
    this.lastIndex = entry.index;
    if (entry.asqn >= 0n) {
      this.firstPosition ??= entry.asqn;
      this.lastPositioned = entry;
      return;
    }
    // Raft entries have no position; only configuration entries matter here, so decode just those.
    if (!mayBeConfigurationEntry(entry.data)) return;
    const decoded = decodeRaftEntry(entry.data);
    if (decoded?.kind === 'configuration') {
      this.configuration = { index: entry.index, members: decoded.members, oldMembers: decoded.oldMembers };
    }
  }

  summary(): LogSummary {
    if (this.firstIndex === undefined) throw new Error('a log summary needs at least one entry');
    const last = this.lastPositioned && decodeRaftEntry(this.lastPositioned.data);
    const lastPosition =
      last?.kind === 'application' && last.highestPosition >= this.lastPositioned!.asqn ? last.highestPosition : this.lastPositioned?.asqn;
    return {
      firstIndex: this.firstIndex,
      lastIndex: this.lastIndex,
      ...(this.firstPosition === undefined ? {} : { positions: { first: this.firstPosition, last: lastPosition! } }),
      ...(this.configuration ? { configuration: this.configuration } : {}),
    };
  }
}
