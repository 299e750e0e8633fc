/**
 * Durations as Spring binds `java.time.Duration`: ISO-8601 (`PT180S`, `P1D`, `PT0.5S`) or the simple
 * style (`180s`, `500ms`; a bare number means milliseconds, Spring's default unit).
 */

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;

const simpleUnits: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  s: second,
  m: minute,
  h: hour,
  d: day,
};

// java.time.Duration.parse accepts days, hours, minutes and (fractional) seconds, nothing larger.
const isoPattern = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,](\d{1,9}))?S)?)?$/i;
const simplePattern = /^(\d+)([a-z]{0,2})$/i;

function parseIso(text: string): number | undefined {
  const match = isoPattern.exec(text);
  if (!match || text.toUpperCase().endsWith('T') || text.length <= 1) return undefined;
  const [, days, hours, minutes, seconds, fraction] = match;
  // The fraction is read as nanoseconds so that PT1.005S is exactly 1005 ms, not 1004.999….
  const nanos = Number((fraction ?? '').padEnd(9, '0'));
  return (
    Number(days ?? 0) * day +
    Number(hours ?? 0) * hour +
    Number(minutes ?? 0) * minute +
    Number(seconds ?? 0) * second +
    nanos / 1e6
  );
}

function parseSimple(text: string): number | undefined {
  const match = simplePattern.exec(text);
  if (!match) return undefined;
  const [, amount, unit] = match;
  const factor = simpleUnits[(unit ?? '').toLowerCase() || 'ms'];
  return factor === undefined ? undefined : Number(amount) * factor;
}

/** Milliseconds, or undefined when the text is neither style. */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  return parseIso(trimmed) ?? parseSimple(trimmed);
}
