import { describe, expect, it } from 'vitest';
import { batchRetryStrategy } from '../../src/store/s3-retry.js';

const policy = { maxAttempts: 5, baseDelayMs: 500, throttlingBaseDelayMs: 1_000, maxDelayMs: 5_000 };

/** The delays one request goes through until the strategy gives up, or the number it got to. */
async function delays(errorType: 'TRANSIENT' | 'THROTTLING' | 'SERVER_ERROR' | 'CLIENT_ERROR', retryAfterHint?: Date) {
  const strategy = batchRetryStrategy(policy);
  let token = await strategy.acquireInitialRetryToken('');
  const waited: number[] = [];
  for (;;) {
    try {
      token = await strategy.refreshRetryTokenForRetry(token, { errorType, ...(retryAfterHint ? { retryAfterHint } : {}) });
    } catch {
      return waited;
    }
    waited.push(token.getRetryDelay());
  }
}

describe('the S3 client retries a failing request a bounded number of times, long enough to wait out a short outage', () => {
  it('backs off exponentially from 500 ms, waiting at least half of each step', async () => {
    for (let run = 0; run < 20; run++) {
      const waited = await delays('TRANSIENT');
      expect(waited).toHaveLength(4);
      [500, 1_000, 2_000, 4_000].forEach((ceiling, retry) => {
        expect(waited[retry]).toBeGreaterThanOrEqual(ceiling / 2);
        expect(waited[retry]).toBeLessThanOrEqual(ceiling);
      });
    }
  });

  it('backs off longer when throttled, capped at 5 s', async () => {
    const waited = await delays('THROTTLING');
    expect(waited).toHaveLength(4);
    expect(waited[0]).toBeGreaterThanOrEqual(500);
    expect(Math.max(...waited)).toBeLessThanOrEqual(5_000);
  });

  it('honours Retry-After within the cap', async () => {
    const waited = await delays('THROTTLING', new Date(Date.now() + 60_000));
    expect(waited.every((delay) => delay === 5_000)).toBe(true);
  });

  it('does not retry what retrying cannot change', async () => {
    expect(await delays('CLIENT_ERROR')).toEqual([]);
    expect(await delays('SERVER_ERROR')).toEqual([]);
  });

  it('keeps no quota shared between requests: many failing requests each get their retries', async () => {
    const strategy = batchRetryStrategy(policy);
    for (let request = 0; request < 200; request++) {
      let token = await strategy.acquireInitialRetryToken('');
      for (let retry = 1; retry < policy.maxAttempts; retry++) {
        token = await strategy.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT' });
        expect(token.getRetryCount()).toBe(retry);
      }
    }
  });
});
