import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtures } from '../support/fixtures.js';
import { zeebeTruncations, type ZeebeTruncation } from '../support/restore-checks.js';
import { referenceTruncation } from '../support/generative/reference-truncation.js';

/** The generative suite's reference model, checked against the truncations Zeebe 8.5.4 itself wrote. */

const journal = new Map(
  await Promise.all(
    (await readdir(join(fixtures, 'journal-b'))).map(async (name) => [name, await readFile(join(fixtures, 'journal-b', name))] as const),
  ),
);
const { asqns } = JSON.parse(await readFile(join(fixtures, 'journal-b.json'), 'utf8')) as { asqns: number[] };

async function zeebeSums(sumsFile: string): Promise<Record<string, string>> {
  const lines = (await readFile(join(fixtures, sumsFile), 'utf8')).trim().split('\n');
  return Object.fromEntries(lines.map((line) => line.split(/\s+/)).map(([hash, path]) => [path!.split('/').at(-1)!, hash!]));
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('the reference truncation', () => {
  it.each([
    ['in a full segment', zeebeTruncations.fullSegment, 4336n],
    ['in the active segment', zeebeTruncations.activeSegment, 5850n],
  ] as [string, ZeebeTruncation, bigint][])('equals Zeebe 8.5.4 byte for byte for a checkpoint %s', async (_, truncation, index) => {
    const result = referenceTruncation(journal, truncation.checkpointPosition);
    expect(result.kind).toBe('truncated');
    if (result.kind !== 'truncated') return;
    expect(result.checkpointIndex).toBe(index);
    const actual = Object.fromEntries([...result.files].map(([name, bytes]) => [name, sha256(bytes)]));
    expect(actual).toEqual(await zeebeSums(truncation.sums));
  });

  it('reports a checkpoint position that no entry has, with the positions the log holds', () => {
    const missing = asqns.findIndex((asqn, i) => asqns[i + 1]! > asqn + 1);
    for (const position of [0n, BigInt(asqns[missing]! + 1), BigInt(asqns.at(-1)! + 1)]) {
      expect(referenceTruncation(journal, position)).toEqual({
        kind: 'checkpointMissing',
        firstAsqn: BigInt(asqns[0]!),
        lastAsqn: BigInt(asqns.at(-1)!),
      });
    }
  });
});
