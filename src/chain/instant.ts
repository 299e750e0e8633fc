/**
 * Instants with nanosecond precision, as Zeebe's Java `Instant`s carry them (checkpoint
 * timestamps, `--from`/`--to`): compared as nanoseconds since the epoch, never through a double.
 */
export interface Instant {
  /** Nanoseconds since 1970-01-01T00:00:00Z. */
  nanos: bigint;
  /** ISO-8601 UTC, with the fraction digits that were given. */
  iso: string;
}

const isoPattern = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * An ISO-8601 instant with a zone (`2026-01-10T14:00:00Z`, `…T15:00:00.5+01:00`), or undefined.
 * A local time without zone is refused: on a server it silently means UTC or not, depending on TZ.
 */
export function parseInstant(text: string): Instant | undefined {
  const match = isoPattern.exec(text.trim());
  if (!match) return undefined;
  const [, dateTime, fraction = '', zone] = match;
  const wholeSeconds = Date.parse(`${dateTime}${dateTime!.length === 16 ? ':00' : ''}${zone!.toUpperCase()}`);
  if (Number.isNaN(wholeSeconds)) return undefined;
  const nanos = BigInt(wholeSeconds) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
  return { nanos, iso: formatNanos(nanos) };
}

/** Epoch milliseconds (early 8.9 metadata) as an instant. */
export function instantFromEpochMillis(millis: bigint): Instant {
  const nanos = millis * 1_000_000n;
  return { nanos, iso: formatNanos(nanos) };
}

/** ISO-8601 UTC with as many fraction digits as needed (none, 3, 6 or 9), like Java's Instant. */
export function formatNanos(nanos: bigint): string {
  const millis = nanos / 1_000_000n - (nanos % 1_000_000n < 0n ? 1n : 0n);
  const subMillis = nanos - millis * 1_000_000n;
  const base = new Date(Number(millis)).toISOString().slice(0, 19);
  const fraction = (millis % 1000n + 1000n) % 1000n * 1_000_000n + subMillis;
  if (fraction === 0n) return `${base}Z`;
  const digits = fraction.toString().padStart(9, '0');
  const trimmed = digits.endsWith('000000') ? digits.slice(0, 3) : digits.endsWith('000') ? digits.slice(0, 6) : digits;
  return `${base}.${trimmed}Z`;
}

/** Epoch seconds with an optional nanosecond fraction (`1668519689.290560717`), as Jackson writes Instants as numbers. */
export function instantFromEpochSeconds(source: string): Instant | undefined {
  const match = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(source);
  if (!match) return undefined;
  const nanos = BigInt(match[1]!) * 1_000_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
  return { nanos, iso: formatNanos(nanos) };
}
