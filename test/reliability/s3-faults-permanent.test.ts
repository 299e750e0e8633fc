import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FaultScenarios, faultBackupId, prepareFaultScenarios } from '../support/s3-fault-scenarios.js';
import { type Fault, objectKeyOf } from '../support/s3-proxy.js';

/**
 * An outage of a few seconds is waited out; a fault that never stops ends in a clean exit 6 that
 * names the bucket and key, with the data directory exactly as found, in a bounded time.
 */

let s3: FaultScenarios;

beforeAll(async () => {
  s3 = await prepareFaultScenarios(inject('s3Endpoint'));
});

afterAll(() => s3.client.destroy());

describe('a short outage is waited out', () => {
  it.each([
    ['503 SlowDown answers', { kind: 'error', status: 503, code: 'SlowDown' }],
    ['connection resets', { kind: 'reset' }],
  ] as const)('2 s of %s to every request in the middle of the downloads', async (_name, fault: Fault) => {
    let outageEnds: number | undefined;
    let downloads = 0;
    const result = await s3.restoreThrough((request) => {
      // Starts with the tenth file download.
      if (outageEnds === undefined && s3.isDownload(request) && (downloads += 1) >= 10) outageEnds = performance.now() + 2_000;
      return outageEnds !== undefined && performance.now() < outageEnds ? fault : undefined;
    });
    await s3.expectRestoredExactly(result);
    expect(result.proxy.injected().length).toBeGreaterThanOrEqual(5);
  });
});

// These fail before any download, so they mostly wait: side by side they take the time of one.
describe.concurrent('faults on every request that never stop end in a clean, bounded failure', () => {
  it('every request answered 503', async () => {
    const result = await s3.restoreThrough(() => ({ kind: 'error', status: 503, code: 'ServiceUnavailable' }));
    await s3.expectCleanStoreFailure(result, /ServiceUnavailable/, 15);
  });

  it('every connection reset', async () => {
    const result = await s3.restoreThrough(() => ({ kind: 'reset' }));
    await s3.expectCleanStoreFailure(result, /ECONNRESET/, 15);
  });

  it('every request stalled', async () => {
    const result = await s3.restoreThrough(() => ({ kind: 'delay', ms: 60_000 }));
    await s3.expectCleanStoreFailure(result, /timed out|timeout|ETIMEDOUT/i, 20);
  });

});

describe('a fault on one file that never stops ends in a clean, bounded failure', () => {
  it('one segment that always answers 500 once everything else has been read', async () => {
    const key = `2/${faultBackupId}/0/segments/raft-partition-partition-2-3.log`;
    const result = await s3.restoreThrough((request) =>
      objectKeyOf(request, s3.bucket) === key ? { kind: 'error', status: 500, code: 'InternalError' } : undefined,
    );
    await s3.expectCleanStoreFailure(result, new RegExp(`${key}.*HTTP 500`), 15);
  });
});
