import { positionsFromSnapshotId } from '../snapshot/snapshot-positions.js';

/** Plain aligned columns: readable in a terminal and in `kubectl logs`, easy to grep. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Headers of the columns that show a snapshot's positions beside the checkpoint. */
export const snapshotPositionHeaders = ['Processed', 'Exported'];

/**
 * The processed and exported positions a snapshot id names: a broker resumes from them, so the
 * log up to the checkpoint must hold them.
 */
export function snapshotPositionCells(snapshotId: string | undefined): string[] {
  const positions = snapshotId === undefined ? undefined : positionsFromSnapshotId(snapshotId);
  return positions ? [String(positions.processedPosition), String(positions.exportedPosition)] : ['', ''];
}
