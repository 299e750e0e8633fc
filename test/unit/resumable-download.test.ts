import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { BackupInvalidError, StoreUnavailableError } from '../../src/errors.js';
import { resumableDownload } from '../../src/store/resumable-download.js';

const object = randomBytes(3 * 1024 * 1024 + 17);

type Break = 'reset' | 'truncate';

/**
 * A fake store: each open serves the object from `offset` in 64 KiB chunks, and the first opens
 * break after `breakAfter` bytes, either with ECONNRESET or by ending early (a truncated body).
 */
function flakyObject(breaks: Break[], breakAfter = 700_000) {
  const opened: number[] = [];
  const bodies: Readable[] = [];
  const open = (offset: number): Readable => {
    const failure = breaks[opened.length];
    opened.push(offset);
    const limit = failure ? Math.min(object.length, offset + breakAfter) : object.length;
    let position = offset;
    const body = new Readable({
      highWaterMark: 64 * 1024,
      read() {
        if (position >= limit) {
          if (failure === 'reset') this.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
          else this.push(null);
          return;
        }
        const end = Math.min(limit, position + 64 * 1024);
        this.push(object.subarray(position, end));
        position = end;
      },
    });
    bodies.push(body);
    return body;
  };
  return { open, opened, bodies };
}

function download(source: ReturnType<typeof flakyObject>, options: { maxResumes?: number; signal?: AbortSignal } = {}) {
  return resumableDownload({
    first: source.open(0),
    size: object.length,
    openAt: async (offset) => source.open(offset),
    label: 'segments/raft-partition-partition-1-7.log',
    firstDelayMs: 1,
    ...options,
  });
}

describe('resumableDownload', () => {
  it('delivers exactly the object when nothing breaks', async () => {
    const source = flakyObject([]);
    expect((await buffer(download(source))).equals(object)).toBe(true);
    expect(source.opened).toEqual([0]);
  });

  it('resumes from the first missing byte after resets and truncated bodies', async () => {
    const source = flakyObject(['reset', 'truncate', 'reset']);
    const bytes = await buffer(download(source));
    expect(bytes.length).toBe(object.length);
    expect(bytes.equals(object)).toBe(true);
    // Each resume starts at the first byte not handed downstream: at the break, or a little before
    // it when the broken body still held bytes it had read ahead (those go down with it).
    expect(source.opened).toHaveLength(4);
    expect(source.opened[0]).toBe(0);
    for (let i = 1; i < source.opened.length; i++) {
      expect(source.opened[i]).toBeGreaterThan(source.opened[i - 1]!);
      expect(source.opened[i]).toBeLessThanOrEqual(source.opened[i - 1]! + 700_000);
    }
  });

  it('gives up after the allowed number of resumes with an error naming the object', async () => {
    const source = flakyObject(['reset', 'reset', 'reset', 'reset'], 100_000);
    const failure = await buffer(download(source, { maxResumes: 2 })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).message).toMatch(
      /Download of segments\/raft-partition-partition-1-7\.log broke off 3 times \(last at byte \d+ of \d+\): read ECONNRESET/,
    );
    expect(source.opened).toHaveLength(3);
    const lastByte = Number(/last at byte (\d+)/.exec((failure as Error).message)![1]);
    expect(lastByte).toBeGreaterThan(source.opened[2]!);
    expect(lastByte).toBeLessThanOrEqual(source.opened[2]! + 100_000);
  });

  it('does not retry an answer that retrying cannot change', async () => {
    const source = flakyObject(['reset']);
    const missing = new BackupInvalidError('the object is gone');
    const stream = resumableDownload({
      first: source.open(0),
      size: object.length,
      openAt: async () => {
        throw missing;
      },
      label: 'x',
      firstDelayMs: 1,
    });
    await expect(buffer(stream)).rejects.toBe(missing);
  });

  it('stops reading and retrying when aborted', async () => {
    const source = flakyObject([]);
    const controller = new AbortController();
    const stream = download(source, { signal: controller.signal });
    const received: Buffer[] = [];
    const failure = new Promise<unknown>((resolve) => {
      stream.on('data', (chunk: Buffer) => {
        received.push(chunk);
        if (received.length === 2) controller.abort(new Error('interrupted by test'));
      });
      stream.on('error', resolve);
    });
    expect(((await failure) as Error).message).toBe('interrupted by test');
    expect(source.bodies[0]!.destroyed).toBe(true);
    expect(source.opened).toEqual([0]);
  });

  it('releases the body when the consumer goes away', async () => {
    const source = flakyObject([]);
    const stream = download(source);
    await new Promise((resolve) => stream.once('readable', resolve));
    stream.destroy();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(source.bodies[0]!.destroyed).toBe(true);
    expect(source.opened).toEqual([0]);
  });
});
