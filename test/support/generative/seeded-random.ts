import { createCipheriv, createHash, type Cipher } from 'node:crypto';

/**
 * Numbers and bytes that depend on nothing but a seed, so a fast-check seed and path reproduce a
 * generated backup byte for byte. Numbers come from sfc32 (small and fast); bulk bytes from an
 * AES-CTR keystream, which fills megabytes far faster than any JavaScript generator.
 */
export class SeededRandom {
  private readonly state: Uint32Array;
  private readonly keystream: Cipher;

  constructor(private readonly seed: string) {
    const digest = createHash('sha256').update(`generative:${seed}`).digest();
    this.state = new Uint32Array([digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12)]);
    this.keystream = createCipheriv('aes-128-ctr', digest.subarray(16, 32), Buffer.alloc(16));
    // sfc32 needs a few rounds before its output no longer resembles the seed.
    for (let round = 0; round < 12; round++) this.next();
  }

  /**
   * An independent stream for one concern (the snapshot, the payloads, …): what one concern
   * draws never shifts what another gets, so shrinking one part of a case leaves the rest alone.
   */
  fork(label: string): SeededRandom {
    return new SeededRandom(`${this.seed}/${label}`);
  }

  /** A uniformly distributed 32-bit unsigned integer (sfc32). */
  private next(): number {
    const s = this.state;
    const t = (((s[0]! + s[1]!) | 0) + s[3]!) | 0;
    s[3] = (s[3]! + 1) | 0;
    s[0] = s[1]! ^ (s[1]! >>> 9);
    s[1] = (s[2]! + (s[2]! << 3)) | 0;
    s[2] = (s[2]! << 21) | (s[2]! >>> 11);
    s[2] = (s[2]! + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  fraction(): number {
    return this.next() / 2 ** 32;
  }

  /** An integer from min to max, both included. */
  int(min: number, max: number): number {
    if (max < min) throw new RangeError(`empty range ${min}..${max}`);
    return min + Math.floor(this.fraction() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.fraction() < probability;
  }

  pick<T>(values: readonly T[]): T {
    if (values.length === 0) throw new RangeError('nothing to pick from');
    return values[this.int(0, values.length - 1)]!;
  }

  /** `length` fresh pseudo-random bytes. */
  bytes(length: number): Buffer {
    return this.keystream.update(Buffer.alloc(length));
  }
}
