import { integer } from './parsers.js';
import type { Resolver } from './resolve.js';
import { fieldKey, fixedPartitionsSetting, type Setting } from './settings.js';
import type { ConfigSource } from './sources.js';

/** A list element as read; missing fields stay undefined so that validation can name their keys. */
export interface FixedPartitionDraft {
  partitionId?: number;
  nodes: { nodeId?: number; priority?: number }[];
}

/**
 * The FIXED partitioning list. Each field of each element is an ordinary setting with one key,
 * read only from the source that supplies the list: Spring replaces a list whole rather than
 * merging elements from several sources.
 */
export function resolveFixedPartitions(resolver: Resolver): FixedPartitionDraft[] {
  const chosen = resolver.chooseList(fixedPartitionsSetting);
  if (chosen === undefined) return [];
  const { key, source } = chosen;
  const field = (element: string, name: string, target: string): number | undefined => {
    const setting: Setting<number> = {
      name: `${fixedPartitionsSetting.name}${element.slice(key.length)}.${name}`,
      keys: [fieldKey(element, name)],
      parser: integer,
      target: `${fixedPartitionsSetting.target}.${target}.${name}`,
    };
    return resolver.resolve(setting, [source]);
  };

  return indexes(source, key).map((i) => {
    const element = `${key}[${i}]`;
    const partitionId = field(element, 'partitionId', `${i}`);
    const nodes = indexes(source, fieldKey(element, 'nodes')).map((j) => {
      const node = `${fieldKey(element, 'nodes')}[${j}]`;
      const nodeId = field(node, 'nodeId', `${i}.nodes.${j}`);
      const priority = field(node, 'priority', `${i}.nodes.${j}`);
      return { ...(nodeId === undefined ? {} : { nodeId }), ...(priority === undefined ? {} : { priority }) };
    });
    return { ...(partitionId === undefined ? {} : { partitionId }), nodes };
  });
}

/** Spring binds indexed elements from 0 up to the first missing index. */
function indexes(source: ConfigSource, listKey: string): number[] {
  const found: number[] = [];
  while (source.hasKeysUnder(`${listKey}[${found.length}]`)) found.push(found.length);
  return found;
}
