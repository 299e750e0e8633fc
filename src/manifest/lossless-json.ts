/**
 * Brokers write longs (backup ids, log positions) and nanosecond timestamps as JSON numbers.
 * `JSON.parse` would round them to doubles, so numbers are kept as their source text and
 * converted where their meaning is known.
 */
export class JsonNumber {
  constructor(readonly source: string) {}
}

type ReviverContext = { source?: string };

export function parseJsonLossless(text: string): unknown {
  const reviver = (_key: string, value: unknown, context?: ReviverContext): unknown =>
    typeof value === 'number' ? new JsonNumber(context?.source ?? String(value)) : value;
  return JSON.parse(text, reviver as (key: string, value: unknown) => unknown);
}

declare global {
  interface JSON {
    /** Node ≥ 21: embeds `text` verbatim as a JSON value. */
    rawJSON(text: string): unknown;
  }
}

/** A Java long as a JSON number, without passing through a double. */
export function jsonLong(value: bigint): unknown {
  return JSON.rawJSON(value.toString());
}
