/**
 * Spring's relaxed binding treats `nodeId`, `node-id`, `node_id` and `NODEID` as one key. These
 * helpers turn every spelling into a comparable form, and the table's keys into the spellings
 * users see in messages.
 */

/** `fixed[0].nodes[1].nodeId` and `fixed.0.nodes.1.node-id` → `['fixed', '0', 'nodes', '1', 'nodeid']`. */
export function canonicalSegments(key: string): string[] {
  return key
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((segment) => segment !== '')
    .map((segment) => segment.toLowerCase().replace(/[-_]/g, ''));
}

const isIndex = (segment: string): boolean => /^\d+$/.test(segment);

/**
 * Environment variable names lose the boundaries between `.`, `-` and `_`, so they can only be
 * compared with every non-index segment run squashed together; list indexes stay separate so that
 * `…_FIXED_0_NODES_1_NODEID` still addresses one element.
 */
export function relaxedForm(segments: readonly string[]): string {
  const parts: string[] = [];
  let run = '';
  for (const segment of segments) {
    if (isIndex(segment)) {
      parts.push(run, segment);
      run = '';
    } else {
      run += segment;
    }
  }
  if (run !== '') parts.push(run);
  return parts.join('.');
}

/** `ZEEBE_BROKER_EXPERIMENTAL_PARTITIONING_FIXED_0_NODES_1_NODEID` → segments for {@link relaxedForm}. */
export function environmentSegments(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[_.]/)
    .filter((segment) => segment !== '')
    .map((segment) => segment.replace(/-/g, ''));
}

/** The variable Spring documents for a key: upper case, `.` → `_`, dashes dropped. */
export function environmentName(key: string): string {
  return key.replace(/\[(\d+)\]/g, '.$1').replace(/-/g, '').replace(/\./g, '_').toUpperCase();
}

/** `sasToken.value` → `sas-token.value`: the unified generations document kebab-case keys. */
export function kebabCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}
