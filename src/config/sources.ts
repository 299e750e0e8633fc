import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { canonicalSegments, environmentSegments, relaxedForm } from './keys.js';
import { requireCommonJs } from '../util/common-js.js';

const { LineCounter, parseAllDocuments } = requireCommonJs('yaml') as typeof import('yaml');

/** A scalar, or a list of scalars (YAML sequence or, after parsing, a comma-separated string). */
export type RawValue = string | string[];

/** One key/value pair exactly as the user wrote it, for provenance and error messages. */
export interface RawEntry {
  /** The dotted YAML path (`zeebe.broker.cluster.nodeId`) or the environment variable name. */
  key: string;
  /** The YAML file's path, or `environment`. */
  source: string;
  value: RawValue;
}

export interface ConfigSource {
  readonly name: string;
  /**
   * Every spelling in this source that binds the key (relaxed binding). More than one means the
   * user wrote the same key twice (`nodeId` and `node-id`, or two environment variable variants).
   * Empty values are left out, as if not set, unless `includeEmpty`: placeholder lookups see them,
   * like Spring does.
   */
  lookup(key: string, options?: { includeEmpty?: boolean }): RawEntry[];
  /**
   * The entry Spring's own `PropertySource#getProperty(name)` of this source returns: for a YAML
   * file the key exactly as flattened (`zeebe.broker.cluster.nodeId`), for the environment the
   * variable named exactly so or by `SystemEnvironmentPropertySource`'s variants. Empty values
   * included. Used for placeholders, whose names need not be canonical property names.
   */
  property(name: string): RawEntry | undefined;
  /** Whether any key with a non-empty value lies below `key`, e.g. an element of the indexed list `key`. */
  hasKeysUnder(key: string): boolean;
}

/** Blank values count as not set, as Helm templates render unset values as empty strings. */
export const isBlank = (value: RawValue): boolean => typeof value === 'string' && value.trim() === '';

export const environmentSourceName = 'environment';

/**
 * One source: entries indexed by a matching form. YAML keys keep their `.` boundaries; environment
 * names have lost them, so they are matched in {@link relaxedForm}.
 */
function createSource(
  name: string,
  entries: { segments: string[]; entry: RawEntry }[],
  form: (segments: readonly string[]) => string,
  exactNames: (name: string) => string[],
): ConfigSource {
  const byForm = new Map<string, RawEntry[]>();
  const byKey = new Map<string, RawEntry>();
  for (const { segments, entry } of entries) {
    const key = form(segments);
    byForm.set(key, [...(byForm.get(key) ?? []), entry]);
    if (!byKey.has(entry.key)) byKey.set(entry.key, entry);
  }
  const nonBlank = (found: RawEntry[]) => found.filter((entry) => !isBlank(entry.value));
  return {
    name,
    lookup: (key, options = {}) => {
      const found = byForm.get(form(canonicalSegments(key))) ?? [];
      return options.includeEmpty ? found : nonBlank(found);
    },
    property: (propertyName) =>
      exactNames(propertyName)
        .map((candidate) => byKey.get(candidate))
        .find((entry) => entry !== undefined),
    hasKeysUnder: (key) => {
      const prefix = `${form(canonicalSegments(key))}.`;
      return [...byForm].some(([candidate, found]) => candidate.startsWith(prefix) && nonBlank(found).length > 0);
    },
  };
}

const yamlForm = (segments: readonly string[]): string => segments.join('.');

/** The names Spring's `SystemEnvironmentPropertySource#resolvePropertyName` tries, in order. */
function environmentVariants(name: string): string[] {
  const variants = (candidate: string) => [
    candidate,
    candidate.replaceAll('.', '_'),
    candidate.replaceAll('-', '_'),
    candidate.replaceAll('.', '_').replaceAll('-', '_'),
  ];
  const upper = name.toUpperCase();
  return upper === name ? variants(name) : [...variants(name), ...variants(upper)];
}

export function environmentSource(env: NodeJS.ProcessEnv): ConfigSource {
  // Empty variables are kept for placeholder lookups; settings treat them as not set (see lookup).
  const entries = Object.entries(env).flatMap(([name, value]) =>
    value === undefined
      ? []
      : [{ segments: environmentSegments(name), entry: { key: name, source: environmentSourceName, value } }],
  );
  return createSource(environmentSourceName, entries, relaxedForm, environmentVariants);
}

type Flattened = { segments: string[]; entry: RawEntry }[];

const isScalar = (value: unknown): value is string | number | boolean =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

/**
 * Lists of scalars stay list values (Spring binds them to `List<String>`); lists of objects become
 * indexed keys, the same shape as `…_FIXED_0_NODES_1_NODEID` in the environment.
 */
function flatten(value: unknown, segments: string[], key: string, source: string, out: Flattened): void {
  if (value === undefined) return;
  // Spring's YamlProcessor flattens `key:` (null) to an empty string; settings treat it as not set.
  if (value === null || isScalar(value)) {
    if (key !== '') out.push({ segments, entry: { key, source, value: value === null ? '' : String(value) } });
  } else if (Array.isArray(value)) {
    if (value.every(isScalar)) {
      out.push({ segments, entry: { key, source, value: value.map(String) } });
    } else {
      value.forEach((element, index) => flatten(element, [...segments, String(index)], `${key}[${index}]`, source, out));
    }
  } else if (typeof value === 'object') {
    for (const [childKey, child] of Object.entries(value)) {
      const childPath = key === '' ? childKey : `${key}.${childKey}`;
      flatten(child, [...segments, ...canonicalSegments(childKey)], childPath, source, out);
    }
  }
}

/** Each YAML document is its own source; later documents override earlier ones, as in Spring. */
function yamlSources(file: string): ConfigSource[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read configuration file ${file}: ${error instanceof Error ? error.message : String(error)}.`);
  }
  // Without the parser's pretty errors: they quote the offending line, which may hold a secret.
  const lines = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  return documents.map((document, index) => {
    const [error] = document.errors;
    if (error) {
      const { line, col } = lines.linePos(error.pos[0]);
      throw new UsageError(`Configuration file ${file} is not valid YAML: ${error.message} (line ${line}, column ${col}).`);
    }
    const content: unknown = document.toJS();
    if (content !== null && content !== undefined && (typeof content !== 'object' || Array.isArray(content))) {
      throw new UsageError(`Configuration file ${file} must contain a YAML mapping of keys to values.`);
    }
    const name = documents.length > 1 ? `${file} (document ${index + 1})` : file;
    const entries: Flattened = [];
    flatten(content, [], '', name, entries);
    return createSource(name, entries, yamlForm, (propertyName) => [propertyName]);
  });
}

const defaultConfigFile = path.join('config', 'application.yaml');

/**
 * One entry of a Spring location list. `optional:` tolerates a missing file; a directory stands
 * for its `application.yaml`, which may be absent.
 */
function locationFiles(location: string, cwd: string): string[] {
  const optional = location.startsWith('optional:');
  const target = location.replace(/^optional:/, '');
  // classpath: locations are the defaults bundled in Zeebe's jar, which the built-in defaults mirror.
  if (target.startsWith('classpath:')) return [];
  const resolved = path.resolve(cwd, target.replace(/^file:/, ''));
  const isDirectory = /[\\/]$/.test(target) || (existsSync(resolved) && statSync(resolved).isDirectory());
  if (isDirectory) {
    const file = path.join(resolved, 'application.yaml');
    return existsSync(file) ? [file] : [];
  }
  if (existsSync(resolved)) return [resolved];
  if (optional) return [];
  throw new UsageError(`Configuration file ${resolved} (named in ${location}) does not exist.`);
}

function locationList(value: string | undefined, cwd: string): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(/[,;]/)
    .map((location) => location.trim())
    .filter((location) => location !== '')
    .flatMap((location) => locationFiles(location, cwd));
}

/**
 * The YAML files the broker would read, lowest precedence first: the explicit file, or else
 * `SPRING_CONFIG_LOCATION` (which replaces the default), or else `config/application.yaml`; then
 * every file of `SPRING_CONFIG_ADDITIONAL_LOCATION`.
 */
function configFiles(options: { cwd: string; env: NodeJS.ProcessEnv; configFile?: string }): string[] {
  const { cwd, env, configFile } = options;
  let primary: string[];
  if (configFile !== undefined) {
    const file = path.resolve(cwd, configFile);
    if (!existsSync(file)) throw new UsageError(`Configuration file ${file} does not exist.`);
    primary = [file];
  } else {
    const defaultFile = path.resolve(cwd, defaultConfigFile);
    primary = locationList(env.SPRING_CONFIG_LOCATION, cwd) ?? (existsSync(defaultFile) ? [defaultFile] : []);
  }
  return [...primary, ...(locationList(env.SPRING_CONFIG_ADDITIONAL_LOCATION, cwd) ?? [])];
}

/** Every source, lowest precedence first: the YAML files in order, then the environment. */
export function readSources(options: { cwd: string; env: NodeJS.ProcessEnv; configFile?: string }): ConfigSource[] {
  return [...configFiles(options).flatMap(yamlSources), environmentSource(options.env)];
}
