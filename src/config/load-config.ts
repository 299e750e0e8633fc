import type { z } from 'zod';
import { UsageError } from '../errors.js';
import { resolveFixedPartitions } from './fixed-partitions.js';
import { acceptedKeys, defaultSource, Resolver, type Binding } from './resolve.js';
import type { LoadedConfig } from './restore-config.js';
import { restoreConfigSchema } from './schema.js';
import {
  clusterSettings,
  fixedPartitionsSetting,
  partitioningSchemeSetting,
  secondaryStorageSettings,
  secondaryStorageTypeSetting,
  storeSettings,
  storeTypeSetting,
  type Setting,
} from './settings.js';
import { readSources } from './sources.js';

export interface LoadConfigOptions {
  /** The broker's working directory: where `config/application.yaml` and relative paths live. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** An explicit YAML file; it must exist. */
  configFile?: string;
}

/** Sets a dotted path in a plain object, creating the objects on the way; unset values are left out. */
function setPath(target: Record<string, unknown>, dottedPath: string, value: unknown): void {
  if (value === undefined) return;
  const segments = dottedPath.split('.');
  const last = segments.pop();
  if (last === undefined) return;
  let node = target;
  for (const segment of segments) {
    const child = node[segment];
    node[segment] = typeof child === 'object' && child !== null ? child : {};
    node = node[segment] as Record<string, unknown>;
  }
  node[last] = value;
}

function describeIssue(issue: z.core.$ZodIssue, bindings: readonly Binding[]): string | undefined {
  const target = issue.path.join('.');
  // A value that failed to parse is already reported; the gap it leaves is not a second problem.
  if (bindings.some((b) => b.failed && (b.setting.target === target || b.setting.target.startsWith(`${target}.`)))) {
    return undefined;
  }
  const binding = bindings.find((b) => b.setting.target === target);
  if (binding === undefined) return `${target}: ${issue.message}.`;
  const { setting, origin, value } = binding;
  if (value === undefined) return `${setting.name} is not set; set ${acceptedKeys(setting)}.`;
  const where = origin.source === defaultSource ? `${setting.name} (default)` : `${origin.key} (${origin.source})`;
  const from = origin.written === undefined ? '' : ` (resolved from ${origin.written})`;
  return `${where} = ${origin.value}${from} ${issue.message}.`;
}

/**
 * Reads the configuration the broker on this node would read: defaults, then the YAML files, then
 * the environment, with unified `camunda.*` keys taking precedence over legacy `zeebe.*` keys in
 * any source. Reports every problem at once in one UsageError.
 */
export function loadConfig(options: LoadConfigOptions): LoadedConfig {
  const resolver = new Resolver(readSources(options), { cwd: options.cwd });
  const draft: Record<string, unknown> = {};
  const assign = <T>(setting: Setting<T>): T | undefined => {
    const value = resolver.resolve(setting);
    setPath(draft, setting.target, value);
    return value;
  };

  clusterSettings.forEach(assign);
  if (assign(partitioningSchemeSetting) === 'FIXED') {
    setPath(draft, fixedPartitionsSetting.target, resolveFixedPartitions(resolver));
  }
  storeSettings[assign(storeTypeSetting) ?? 'NONE'].forEach(assign);
  secondaryStorageSettings[assign(secondaryStorageTypeSetting) ?? 'elasticsearch'].forEach(assign);

  const result = restoreConfigSchema.safeParse(draft);
  const issues = result.success ? [] : result.error.issues.map((issue) => describeIssue(issue, resolver.bindings));
  const problems = [...resolver.problems, ...issues.filter((line) => line !== undefined)];
  if (!result.success || problems.length > 0) {
    throw new UsageError(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
  return {
    config: result.data,
    origins: resolver.bindings.map((binding) => binding.origin),
    warnings: resolver.warnings,
  };
}
