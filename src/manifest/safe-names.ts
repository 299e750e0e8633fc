/**
 * Names from a manifest become paths on the broker's disk, so a name must be one plain path
 * component: a hostile or broken manifest must not write outside the partition directory.
 */
export function isSafeFileName(name: string): boolean {
  return (
    name.length > 0 &&
    Buffer.byteLength(name) <= 255 &&
    name !== '.' &&
    name !== '..' &&
    !/[/\\\0]/.test(name)
  );
}
