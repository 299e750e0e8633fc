import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { firstAttempts, isManifest, randomFaults } from '../support/fault-plan.js';
import { type FaultScenarios, faultPartitionCount, prepareFaultScenarios } from '../support/s3-fault-scenarios.js';
import { type Fault, type FaultScript, isListing } from '../support/s3-proxy.js';

/**
 * Transient store faults, injected by a proxy between bin/restore and the S3 server: every
 * scenario must end with exactly the bytes a filesystem restore of the same backup produces.
 * Faults that never stop are in s3-faults-permanent.test.ts.
 */

let s3: FaultScenarios;

beforeAll(async () => {
  s3 = await prepareFaultScenarios(inject('s3Endpoint'));
});

afterAll(() => s3.client.destroy());

/** Listings (2 layouts × 3 partitions), manifests, and the 12 + 12 + 9 files. */
const targets = 6 + 3 + 33;

describe('transient faults are survived with the exact bytes', () => {
  it('has compressed objects in the backup, so resumes also go through the decompressor', () => {
    expect(s3.compressedFiles.length).toBeGreaterThanOrEqual(3);
  });

  it('connections reset before the response headers (listings, manifests, size checks and downloads)', async () => {
    const result = await s3.restoreThrough(firstAttempts(s3.bucket, () => [{ kind: 'reset' }], () => true));
    await s3.expectRestoredExactly(result);
    expect(result.proxy.injected().length).toBeGreaterThanOrEqual(targets);
  });

  it('connections reset in the middle of file bodies, twice per file', async () => {
    const cuts = (request: Parameters<FaultScript>[0]): Fault[] => {
      const at = (request.path.length * 7919) % 200_000;
      return [
        { kind: 'resetMidBody', afterBytes: 1 + at },
        { kind: 'resetMidBody', afterBytes: 50_000 + at },
      ];
    };
    const result = await s3.restoreThrough(firstAttempts(s3.bucket, cuts, s3.isDownload));
    await s3.expectRestoredExactly(result);
    const resets = result.proxy.injected();
    expect(resets.length).toBeGreaterThanOrEqual(20);
    // Each break is resumed with a ranged request from the first missing byte.
    expect(result.proxy.requests.filter((request) => request.headers.range).length).toBeGreaterThanOrEqual(resets.length);
  });

  it('bodies that end cleanly (FIN) short of their Content-Length', async () => {
    const result = await s3.restoreThrough(
      firstAttempts(s3.bucket, () => [{ kind: 'closeMidBody', afterBytes: 12_345 }], s3.isDownload),
    );
    await s3.expectRestoredExactly(result);
    // Every file over 12 345 bytes: segments, SST files (one all-zero segment compresses to less).
    expect(result.proxy.injected().length).toBeGreaterThanOrEqual(15);
  });

  it('manifest bodies that break off or end short', async () => {
    const result = await s3.restoreThrough(
      firstAttempts(
        s3.bucket,
        (request) => [request.path.includes('/manifests/') ? { kind: 'resetMidBody', afterBytes: 40 } : { kind: 'closeMidBody', afterBytes: 100 }],
        (request) => isManifest(request, s3.bucket),
      ),
    );
    await s3.expectRestoredExactly(result);
    expect(result.proxy.injected()).toHaveLength(faultPartitionCount);
  });

  it('503 SlowDown throttling and 500 InternalError on every request', async () => {
    const result = await s3.restoreThrough(
      firstAttempts(
        s3.bucket,
        (request) => [
          request.path.length % 2 === 0 ? { kind: 'error', status: 503, code: 'SlowDown' } : { kind: 'error', status: 500, code: 'InternalError' },
        ],
        () => true,
      ),
    );
    await s3.expectRestoredExactly(result);
    expect(result.proxy.injected().length).toBeGreaterThanOrEqual(targets);
  });

  it('slow responses: delayed headers, bodies that trickle in or pause shorter than apiCallTimeout', async () => {
    const result = await s3.restoreThrough((request, index) =>
      index % 2 === 0
        ? { kind: 'delay', ms: 150 }
        : !s3.isDownload(request)
          ? undefined
          : index % 3 === 0
            ? { kind: 'stallMidBody', afterBytes: 5_000, ms: 400 }
            : { kind: 'trickle', chunkBytes: 256 * 1024, intervalMs: 2 },
    );
    await s3.expectRestoredExactly(result);
    expect(result.proxy.injected().length).toBeGreaterThanOrEqual(30);
  });

  it('requests that stall before the headers for longer than apiCallTimeout', async () => {
    const result = await s3.restoreThrough(
      firstAttempts(s3.bucket, () => [{ kind: 'delay', ms: 4_000 }], (request) => s3.isDownload(request) || (isListing(request) && request.path.includes('manifests'))),
    );
    await s3.expectRestoredExactly(result);
    expect(result.proxy.injected().length).toBeGreaterThanOrEqual(33 + 3);
  });

  it('bodies that stall mid-download for longer than apiCallTimeout', async () => {
    const result = await s3.restoreThrough(firstAttempts(s3.bucket, () => [{ kind: 'stallMidBody', afterBytes: 30_000 }], s3.isDownload));
    await s3.expectRestoredExactly(result);
    // Files over 30 000 bytes: 2 × (5 segments + 3 snapshot files) and partition 3's 3 segments and 1 SST file.
    expect(result.proxy.injected().length).toBeGreaterThanOrEqual(16);
  });

  it.each([1])('a seeded random mix of every fault (seed %i)', async (seed) => {
    const result = await s3.restoreThrough(randomFaults(s3.bucket, { seed, rate: 0.35, maxPerTarget: 2, stallMs: 4_000 }));
    await s3.expectRestoredExactly(result);
    expect(result.proxy.injected().length, `seed ${seed}`).toBeGreaterThanOrEqual(5);
  });
});
