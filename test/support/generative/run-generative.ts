import { relative } from 'node:path';
import fc from 'fast-check';
import { projectRoot } from '../fixtures.js';

/*
 * Runs a generative property with a fixed seed (so CI is reproducible) and the number of cases of
 * the budget below, and on failure reports the one command that reruns exactly the failing case.
 *
 * Environment: GENERATIVE_SEED (default 1313), GENERATIVE_RUNS (the total number of cases across
 * the suite, shared out like the default budget), GENERATIVE_PATH (fast-check's path of one case,
 * as printed by a failure), GENERATIVE_SHRINK_SECONDS (how long to look for a smaller failing
 * case, default 30; 0 reports the first failure as found), GENERATIVE_CASE_TIMEOUT_SECONDS (a case
 * that takes longer fails, so a hung restore is reported with its reproducing command; default 30).
 */

/** Cases per property in a default (CI) run: 386 in all, the S3 share weighted towards zstd. */
export const caseBudget = {
  filesystem: 150,
  s3Raw: 40,
  s3Zstd: 80,
  s3Gzip: 40,
  s3Deflate: 40,
  binRestore: 4,
  binRestoreMissingCheckpoint: 2,
  workerDecoding: 30,
} as const;

export type GenerativeProperty = keyof typeof caseBudget;

const DEFAULT_SEED = 1313;
const DEFAULT_SHRINK_SECONDS = 30;
const DEFAULT_CASE_TIMEOUT_SECONDS = 30;

interface GenerativeSettings {
  seed: number;
  totalRuns?: number;
  path?: string;
  shrinkSeconds: number;
  caseTimeoutSeconds: number;
}

function settingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): GenerativeSettings {
  const integer = (name: string): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    if (!/^-?\d+$/.test(text)) throw new Error(`${name} must be an integer, not '${text}'`);
    return Number(text);
  };
  const totalRuns = integer('GENERATIVE_RUNS');
  return {
    seed: integer('GENERATIVE_SEED') ?? DEFAULT_SEED,
    ...(totalRuns === undefined ? {} : { totalRuns }),
    ...(env.GENERATIVE_PATH ? { path: env.GENERATIVE_PATH } : {}),
    shrinkSeconds: integer('GENERATIVE_SHRINK_SECONDS') ?? DEFAULT_SHRINK_SECONDS,
    caseTimeoutSeconds: integer('GENERATIVE_CASE_TIMEOUT_SECONDS') ?? DEFAULT_CASE_TIMEOUT_SECONDS,
  };
}

const settings = settingsFromEnvironment();

/** Cases this property runs: its budget, or its share of GENERATIVE_RUNS. */
export function runsOf(property: GenerativeProperty): number {
  if (settings.path) return 1;
  if (settings.totalRuns === undefined) return caseBudget[property];
  const budgetTotal = Object.values(caseBudget).reduce((sum, runs) => sum + runs, 0);
  return Math.max(1, Math.round((settings.totalRuns * caseBudget[property]) / budgetTotal));
}

/** A vitest timeout that grows with the number of cases (and leaves room to shrink a failure). */
export function timeoutOf(property: GenerativeProperty, secondsPerCase: number): number {
  return (60 + settings.shrinkSeconds + runsOf(property) * secondsPerCase) * 1000;
}

/** Each property gets its own seed from the base seed, so they do not all draw the same cases. */
function seedOf(property: GenerativeProperty): number {
  let hash = settings.seed | 0;
  for (const char of property) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return hash;
}

export interface PropertyRun<T> {
  property: GenerativeProperty;
  /** The test file (`import.meta.filename`) and test name, for the command that reproduces a failure. */
  testFile: string;
  testName: string;
  cases: fc.Arbitrary<T>;
  check: (testCase: T) => Promise<void>;
}

/** Runs the property; throws a report with the reproducing command if any case fails. */
export async function checkGeneratively<T>(run: PropertyRun<T>): Promise<void> {
  let stopShrinkingAt: number | undefined;
  let casesRun = 0;
  const progress = progressReporter(run.property);
  const property = fc.asyncProperty(run.cases, async (testCase) => {
    // Once the time to shrink is up, every further candidate counts as passing: fast-check then
    // reports the smallest failing case found so far.
    if (stopShrinkingAt !== undefined && Date.now() > stopShrinkingAt) return;
    // A replayed path that passes would make fast-check go on to its neighbours; the replay is of
    // this one case only (it matters for failures that come and go, such as a hang).
    if (settings.path !== undefined && casesRun > 0) return;
    casesRun++;
    try {
      await withinSeconds(settings.caseTimeoutSeconds, run.check(testCase));
      progress();
    } catch (error) {
      stopShrinkingAt ??= Date.now() + settings.shrinkSeconds * 1000;
      throw error;
    }
  });
  const details = await fc.check(property, {
    seed: seedOf(run.property),
    numRuns: runsOf(run.property),
    ...(settings.path ? { path: settings.path } : {}),
    endOnFailure: settings.path !== undefined || settings.shrinkSeconds === 0,
  });
  if (!details.failed) return;
  if (details.counterexample === null) throw new Error(`the property did not run: ${String(details.errorInstance)}`);
  const [testCase] = details.counterexample;
  throw new Error(
    [
      `Generative case failed (${run.property}, after ${details.numRuns} cases and ${details.numShrinks} shrinks).`,
      `Reproduce exactly this case with:`,
      `  ${reproduceCommand(run, details.counterexamplePath)}`,
      `Case: ${describeCase(testCase)}`,
      errorText(details.errorInstance),
    ].join('\n'),
  );
}

/** For long runs: a line every tenth of the cases, so a run of thousands shows it is alive. */
function progressReporter(property: GenerativeProperty): () => void {
  const runs = runsOf(property);
  if (runs < 1000) return () => {};
  let passed = 0;
  const startedAt = Date.now();
  return () => {
    passed++;
    if (passed % Math.ceil(runs / 10) === 0) {
      console.log(`[generative] ${property}: ${passed} of ${runs} cases passed in ${Math.round((Date.now() - startedAt) / 1000)} s`);
    }
  };
}

async function withinSeconds(seconds: number, work: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the case did not finish within ${seconds} s: a hung restore?`)), seconds * 1000);
  });
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function reproduceCommand(run: Pick<PropertyRun<unknown>, 'testFile' | 'testName'>, path: string): string {
  const testName = run.testName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `GENERATIVE_SEED=${settings.seed} GENERATIVE_PATH="${path}" npx vitest run ${relative(projectRoot, run.testFile)} -t "${testName}"`;
}

/** The case as JSON (bigints as strings), so a failure can be understood without rerunning it. */
export function describeCase(testCase: unknown): string {
  return JSON.stringify(testCase, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
}

function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
