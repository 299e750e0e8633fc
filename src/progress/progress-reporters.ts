import type { LogSinks, Logger } from '../log/logger.js';
import { formatBytes } from '../util/format.js';
import type { PartitionProgress, TransferProgress } from './transfer-progress.js';

export interface ProgressReporter {
  stop(): void;
}

/** `Partition 2   45%  1.2 GiB of 2.6 GiB  85.0 MiB/s  ETA 0:17`, or done with its throughput. */
export function describePartition(partition: PartitionProgress, now = performance.now()): string {
  const { partitionId, totalBytes, transferredBytes, startedAt, finishedAt } = partition;
  const elapsed = ((finishedAt ?? now) - (startedAt ?? now)) / 1000;
  const rate = elapsed > 0 ? transferredBytes / elapsed : 0;
  const amount = `${formatBytes(transferredBytes)} of ${formatBytes(totalBytes)}`;
  if (finishedAt !== undefined) {
    return `Partition ${partitionId}  done  ${formatBytes(transferredBytes)} in ${elapsed.toFixed(1)} s (${formatBytes(rate)}/s)`;
  }
  const percent = totalBytes > 0 ? Math.min(100, Math.floor((transferredBytes / totalBytes) * 100)) : 0;
  const eta = rate > 0 ? formatDuration((totalBytes - transferredBytes) / rate) : '?';
  return `Partition ${partitionId}  ${String(percent).padStart(3)}%  ${amount}  ${formatBytes(rate)}/s  ETA ${eta}`;
}

export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

/** For Kubernetes logs and other non-terminals: one line every `intervalMs`. */
export function periodicProgressLog(progress: TransferProgress, log: Logger, intervalMs: number): ProgressReporter {
  const timer = setInterval(() => {
    const parts = [...progress.partitions.values()].map((partition) => describePartition(partition));
    log.info(`Progress: ${parts.join('; ')}`, {
      transferredBytes: progress.transferredBytes,
      totalBytes: progress.totalBytes,
    });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * On a terminal: one live line per partition at the bottom of the screen, redrawn a few times a
 * second. Log lines are written above it: the display wraps the logger's sinks to make room.
 */
export class LiveProgressDisplay implements ProgressReporter {
  private progress: TransferProgress | undefined;
  private drawnLines = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly terminal: NodeJS.WriteStream) {
    this.timer = setInterval(() => this.redraw(), 250);
    this.timer.unref();
  }

  show(progress: TransferProgress): void {
    this.progress = progress;
    this.redraw();
  }

  /** Sinks for the logger that keep its lines from running through the display. */
  wrap(sinks: LogSinks): LogSinks {
    const around = (sink: NodeJS.WritableStream): NodeJS.WritableStream =>
      ({
        write: (text: string) => {
          this.erase();
          const written = sink.write(text);
          this.redraw();
          return written;
        },
      }) as NodeJS.WritableStream;
    return { out: around(sinks.out), err: around(sinks.err) };
  }

  /** Leaves the final state on screen; later log lines go below it. */
  stop(): void {
    clearInterval(this.timer);
    this.redraw();
    this.drawnLines = 0;
    this.progress = undefined;
  }

  private erase(): void {
    if (this.drawnLines > 0) this.terminal.write(`\x1b[${this.drawnLines}A\x1b[0J`);
    this.drawnLines = 0;
  }

  private redraw(): void {
    if (!this.progress) return;
    this.erase();
    const lines = [...this.progress.partitions.values()].map((partition) => describePartition(partition));
    this.terminal.write(`${lines.join('\n')}\n`);
    this.drawnLines = lines.length;
  }
}
