import { BackupInvalidError, RestoreError, StoreUnavailableError } from '../errors.js';

/** What went wrong with one store call, in the user's terms. */
export interface StoreErrorExplanation {
  /** A missing file of a listed backup makes the backup invalid; everything else is the store's fault. */
  failure: 'storeUnavailable' | 'backupInvalid';
  reason: string;
  hint: string;
}

/** Node's codes for a server that cannot be reached or a connection that broke. */
export const networkErrorCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/**
 * Secrets shorter than this are not masked: replacing every `a` of a message because the access
 * key is `a` would garble it while protecting nothing a guess would not find.
 */
const shortestMaskedSecret = 4;

/** Every occurrence of every secret replaced by `****`, whatever a server or SDK echoed back. */
export function redact(text: string, secrets: readonly string[]): string {
  return secrets
    .filter((secret) => secret.length >= shortestMaskedSecret)
    .reduce((result, secret) => result.split(secret).join('****'), text);
}

/**
 * Runs one store call and turns what its SDK throws into the agent's failure classes, with the
 * object's location and what to check. Errors that are already classified and aborts (SIGTERM,
 * a failed sibling transfer) pass through unchanged.
 */
export async function callStore<T>(operation: () => Promise<T>, failure: (error: unknown) => RestoreError): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof RestoreError || isAbort(error)) throw error;
    throw failure(error);
  }
}

/** `<what>: <reason>. <hint>` as the failure class the explanation names, secrets redacted. */
export function storeError(explanation: StoreErrorExplanation, what: string, secrets: readonly string[], cause: unknown): RestoreError {
  const message = redact(`${what}: ${explanation.reason}. ${explanation.hint}`, secrets);
  return explanation.failure === 'backupInvalid'
    ? new BackupInvalidError(message, { cause })
    : new StoreUnavailableError(message, { cause });
}

/** A server that answers a ranged request with other bytes cannot continue a download. */
export function rangeIgnored(storeDescription: string, key: string, offset: number, answered: string | undefined): StoreUnavailableError {
  return new StoreUnavailableError(
    `The ${storeDescription} ignored a request for ${key} from byte ${offset} (it answered ` +
      `${answered ?? 'without a range'}), so the file cannot be read in parts and an interrupted download cannot be resumed.`,
  );
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** The first line of an SDK's message: Azure appends request ids and times on further lines. */
export function firstLine(message: string): string {
  return message.split('\n', 1)[0]!.trim();
}
