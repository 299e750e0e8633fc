import { type Fault, type FaultScript, isListing, objectKeyOf, type RecordedRequest } from './s3-proxy.js';

/** mulberry32: a tiny seeded PRNG, so a "random" fault scenario replays exactly from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a request reads: a listing (by its prefix), a manifest, or a content object. */
export function targetOf(request: RecordedRequest, bucket: string): string {
  if (isListing(request)) return `list:${new URL(request.path, 'http://proxy').searchParams.get('prefix') ?? ''}`;
  return objectKeyOf(request, bucket) ?? request.path;
}

export const isManifest = (request: RecordedRequest, bucket: string) => objectKeyOf(request, bucket)?.endsWith('/manifest.json') ?? false;

export const isContent = (request: RecordedRequest, bucket: string) =>
  !isListing(request) && !isManifest(request, bucket) && objectKeyOf(request, bucket) !== undefined;

/**
 * Injects `faults` (in order) into the first requests for each target that `applies` selects,
 * then lets that target through: a bounded burst per object, so a correct agent must succeed.
 */
export function firstAttempts(bucket: string, faults: (request: RecordedRequest) => Fault[], applies: (request: RecordedRequest) => boolean): FaultScript {
  const seen = new Map<string, number>();
  return (request) => {
    if (!applies(request)) return undefined;
    const target = targetOf(request, bucket);
    const attempt = seen.get(target) ?? 0;
    seen.set(target, attempt + 1);
    return faults(request)[attempt];
  };
}

export interface RandomFaultOptions {
  seed: number;
  /** Probability that one request gets a fault. */
  rate: number;
  /** At most this many faults per target, so retries and resumes always get through in the end. */
  maxPerTarget: number;
  /** Longest stall, kept above apiCallTimeout so it counts as one. */
  stallMs: number;
}

/**
 * A reproducible mix of every fault class over all requests, bounded per target (listing prefix
 * or object key) so a correct agent always gets through: resets before the headers and mid-body,
 * bodies that end short, 503 SlowDown and 500 answers, short delays, stalls before the headers and
 * mid-body, and slow bodies.
 */
export function randomFaults(bucket: string, options: RandomFaultOptions): FaultScript {
  const random = seededRandom(options.seed);
  const count = new Map<string, number>();
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low));
  return (request) => {
    const target = targetOf(request, bucket);
    const used = count.get(target) ?? 0;
    const roll = random();
    const kind = between(0, 9);
    if (used >= options.maxPerTarget || roll >= options.rate) return undefined;
    count.set(target, used + 1);
    const cut = between(1, 300_000);
    const faults: Fault[] = [
      { kind: 'reset' },
      { kind: 'error', status: 503, code: 'SlowDown' },
      { kind: 'error', status: 500, code: 'InternalError' },
      { kind: 'delay', ms: between(50, 300) },
      { kind: 'delay', ms: options.stallMs },
      { kind: 'resetMidBody', afterBytes: cut },
      { kind: 'closeMidBody', afterBytes: cut },
      { kind: 'stallMidBody', afterBytes: cut },
      { kind: 'trickle', chunkBytes: 64 * 1024, intervalMs: 5 },
    ];
    return faults[kind];
  };
}
