/**
 * Manifests up to 8.8 store instants as epoch seconds with a nanosecond fraction
 * (`1668519689.290560717`); 8.9 writes ISO-8601 strings; early 8.9 builds wrote epoch
 * milliseconds for `checkpointTimestamp`. All become ISO-8601 UTC strings without losing digits.
 */
export function isoFromEpochSeconds(source: string): string {
  const match = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(source);
  if (!match) return new Date(Number(source) * 1000).toISOString();
  const seconds = Number(match[1]);
  const fraction = match[2] ? `.${match[2].padEnd(3, '0')}` : '';
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}${fraction}Z`;
}

export function isoFromEpochMillis(source: string): string {
  return new Date(Number(source)).toISOString();
}

/**
 * The inverse of isoFromEpochSeconds, for manifests written for brokers up to 8.8: an ISO-8601
 * UTC instant as epoch seconds with its fraction digits (up to nine), never through a double.
 */
export function epochSecondsFromIso(iso: string): string {
  const match = /^(.*?)(?:\.(\d{1,9}))?Z$/.exec(iso);
  const seconds = Math.floor(Date.parse(`${match?.[1] ?? iso}Z`) / 1000);
  return match?.[2] ? `${seconds}.${match[2]}` : String(seconds);
}
