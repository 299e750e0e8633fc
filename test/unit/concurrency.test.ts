import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../src/util/concurrency.js';

/** A task that records when it starts and finishes when `release` is called. */
function gatedTask(name: string, started: string[]) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return {
    run: async () => {
      started.push(name);
      await gate;
      return name;
    },
    release: () => release(),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('createLimiter', () => {
  it('runs at most `concurrency` tasks and gives a freed slot to the largest waiting priority, first come among equals', async () => {
    const limit = createLimiter(1, new AbortController().signal);
    const started: string[] = [];
    const tasks = Object.fromEntries(['first', 'small', 'large', 'medium', 'large-later'].map((name) => [name, gatedTask(name, started)]));
    const results = [
      limit(tasks.first!.run, 1),
      limit(tasks.small!.run, 10),
      limit(tasks.large!.run, 1000),
      limit(tasks.medium!.run, 100),
      limit(tasks['large-later']!.run, 1000),
    ];
    for (const name of ['first', 'large', 'large-later', 'medium', 'small']) {
      await settle();
      expect(started.at(-1)).toBe(name);
      tasks[name]!.release();
    }
    expect(await Promise.all(results)).toEqual(['first', 'small', 'large', 'medium', 'large-later']);
  });

  it('starts no queued task once its signal is aborted', async () => {
    const controller = new AbortController();
    const limit = createLimiter(1, controller.signal);
    const started: string[] = [];
    const running = gatedTask('running', started);
    const first = limit(running.run);
    const queued = limit(gatedTask('queued', started).run, 5);
    await settle();
    controller.abort(new Error('stopped'));
    running.release();
    await expect(first).resolves.toBe('running');
    await expect(queued).rejects.toThrow('stopped');
    expect(started).toEqual(['running']);
  });
});
