import type { S3ClientConfig } from '@aws-sdk/client-s3';

type RetryStrategyV2 = Extract<NonNullable<S3ClientConfig['retryStrategy']>, { refreshRetryTokenForRetry: unknown }>;
type RetryToken = Awaited<ReturnType<RetryStrategyV2['acquireInitialRetryToken']>>;

export interface RetryPolicy {
  /** Attempts per request, the first one included. */
  maxAttempts: number;
  /** Backoff before the first retry of a connection failure or 5xx answer, doubled for each further one. */
  baseDelayMs: number;
  /** The same for throttling (503 SlowDown, 429). */
  throttlingBaseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Retries for one batch job rather than a long-running service. The SDK's standard strategy
 * spends well under a second on a failing request (50 ms base, full jitter), so a store that is
 * unreachable for two seconds fails a restore of hours, and it shares one retry quota across the
 * client that a burst of faults on 16 parallel downloads drains, after which nothing is retried at
 * all. Here every request gets `maxAttempts` attempts, each waiting at least half of an
 * exponentially growing, capped delay (or what a Retry-After header asks, within the cap), so a
 * short outage is waited out and a permanent one fails within a known time.
 */
export function batchRetryStrategy(policy: RetryPolicy): RetryStrategyV2 {
  const token = (count: number, delayMs: number): RetryToken => ({
    getRetryCount: () => count,
    getRetryDelay: () => delayMs,
  });
  return {
    acquireInitialRetryToken: async () => token(0, 0),
    refreshRetryTokenForRetry: async (previous, { errorType, retryAfterHint }) => {
      const retry = previous.getRetryCount() + 1;
      if (retry >= policy.maxAttempts || (errorType !== 'TRANSIENT' && errorType !== 'THROTTLING')) {
        throw new Error('no retry left for this request');
      }
      const base = errorType === 'THROTTLING' ? policy.throttlingBaseDelayMs : policy.baseDelayMs;
      const ceiling = Math.min(policy.maxDelayMs, base * 2 ** (retry - 1));
      let delay = ceiling / 2 + (Math.random() * ceiling) / 2;
      if (retryAfterHint) delay = Math.max(delay, Math.min(retryAfterHint.getTime() - Date.now(), policy.maxDelayMs));
      return token(retry, Math.round(delay));
    },
    recordSuccess: () => {},
  };
}
