import { environmentName } from './keys.js';
import { InvalidValueError, type ParseContext } from './parsers.js';
import { hasPlaceholders, PlaceholderError, resolvePlaceholders, type FoundProperty, type PlaceholderUse } from './placeholders.js';
import type { SettingOrigin } from './restore-config.js';
import type { Setting, ListSetting } from './settings.js';
import { environmentSourceName, isBlank, type ConfigSource, type RawEntry, type RawValue } from './sources.js';

const maskedValue = '****';
export const notSetValue = '(not set)';
export const defaultSource = 'default';

/** The outcome for one setting: its value (if any) and where it came from. */
export interface Binding {
  setting: Setting;
  value: unknown;
  origin: SettingOrigin;
  /** A problem was already reported for it; later validation should not report it again. */
  failed: boolean;
}

const redacted = (setting: Setting, text: string): string => (setting.redact ? setting.redact(text) : text);

/** `key (env KEY)` for every accepted key, for messages that ask the user to set one. */
export function acceptedKeys(setting: { keys: readonly string[] }): string {
  return setting.keys.map((key) => `${key} (env ${environmentName(key)})`).join(', ');
}

/** An entry as written, with its placeholders resolved. */
interface ResolvedEntry {
  entry: RawEntry;
  /** The value after resolving placeholders (the written value when it has none); undefined when that failed. */
  value: RawValue | undefined;
  /** The names looked up on the way, in order. */
  uses: PlaceholderUse[];
  error?: PlaceholderError;
}

const asText = (value: RawValue): string => (typeof value === 'string' ? value : value.join(','));

/** Resolved to an empty value: not set, exactly like an empty value written as such. */
const resolvedBlank = (resolved: ResolvedEntry): boolean => resolved.value !== undefined && isBlank(resolved.value);

/**
 * A canonical Spring property name (`ConfigurationPropertyName#isValid`): lower-case letters,
 * digits and `-`, elements separated by `.`, list indexes in brackets.
 */
const canonicalName = /^[a-z0-9][a-z0-9-]*(?:\[\d+\])*(?:\.[a-z0-9][a-z0-9-]*(?:\[\d+\])*)*$/;

function describePlaceholderError(error: PlaceholderError, written: string | undefined): string {
  const inValue = written === undefined ? '' : ` in value "${written}"`;
  if (error.kind === 'circular') return `${error.message}${inValue} (${error.chain.join(' → ')})`;
  const through = error.chain.length === 0 ? '' : ` (in the value of ${error.chain.map((name) => `'${name}'`).join(' → ')})`;
  return `${error.message}${inValue}${through}`;
}

/**
 * Resolves settings against the sources: the first accepted key present in any source wins;
 * for that key the highest-precedence source wins. Placeholders (`${NAME:default}`) in a value are
 * resolved before that choice, so a value that resolves to empty counts as not set, like a value
 * written empty. Collects every problem instead of stopping at the first, so the user can fix the
 * configuration in one go.
 */
export class Resolver {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];
  readonly bindings: Binding[] = [];
  private readonly byPrecedence: readonly ConfigSource[];
  private readonly resolvedEntries = new Map<RawEntry, ResolvedEntry>();

  /** @param sources lowest precedence first */
  constructor(
    sources: readonly ConfigSource[],
    private readonly context: ParseContext,
  ) {
    this.byPrecedence = [...sources].reverse();
  }

  /**
   * The first key (in the setting's order) that any source has, and the highest source that has
   * it; every other present key is reported as ignored. `spelling` names the key as the user wrote it.
   */
  private choose<T>(
    setting: { name: string; keys: readonly string[] },
    sources: readonly ConfigSource[],
    find: (source: ConfigSource, key: string) => T | undefined,
    spelling: (found: T) => string,
  ): { key: string; source: ConfigSource; found: T } | undefined {
    const present = setting.keys.flatMap((key) => {
      for (const source of sources) {
        const found = find(source, key);
        if (found !== undefined) return [{ key, source, found }];
      }
      return [];
    });
    const [winner, ...ignored] = present;
    if (winner === undefined) return undefined;
    for (const other of ignored) {
      this.warnings.push(
        `${spelling(other.found)} (${other.source.name}) is ignored: ${spelling(winner.found)} (${winner.source.name}) also sets ${setting.name} and takes precedence.`,
      );
    }
    return winner;
  }

  /**
   * Where Spring finds the value of a placeholder's name. Its `PropertySourcesPlaceholdersResolver`
   * asks every property source of the environment in precedence order, and the first is the
   * `ConfigurationPropertySourcesPropertySource` Spring Boot attaches ahead of the others: for a
   * canonical name (`camunda.cluster.node-id`) it finds the property with relaxed binding in every
   * source. Then each source on its own terms (`PropertySource#getProperty`): the environment by the
   * exact variable name or `SystemEnvironmentPropertySource`'s variants
   * (`zeebe.broker.cluster.nodeId` → `ZEEBE_BROKER_CLUSTER_NODEID`), a YAML file by its exact key.
   * Sources rank as for settings: the environment, then the YAML files, last one first. (System
   * properties and command-line arguments, which Spring asks before the environment, do not exist
   * for the agent.) Empty values count as found, as in Spring; the setting is then not set.
   */
  private readonly lookupPlaceholder = (name: string): FoundProperty | undefined => {
    const found = (entry: RawEntry | undefined): FoundProperty | undefined => {
      if (entry === undefined) return undefined;
      // Spring flattens a YAML sequence into `key[0]`, `key[1]`…; only an empty one is a value (``).
      if (typeof entry.value !== 'string') return entry.value.length === 0 ? { ...entry, value: '' } : undefined;
      return { key: entry.key, source: entry.source, value: entry.value };
    };
    if (canonicalName.test(name)) {
      for (const source of this.byPrecedence) {
        const entry = source.lookup(name, { includeEmpty: true }).map(found).find((candidate) => candidate !== undefined);
        if (entry !== undefined) return entry;
      }
    }
    for (const source of this.byPrecedence) {
      const entry = found(source.property(name));
      if (entry !== undefined) return entry;
    }
    return undefined;
  };

  /**
   * Resolves the placeholders of one entry (each element of a list on its own; a comma-separated
   * string as a whole before it is split, as Spring converts after resolving). The one place where
   * placeholders are resolved, for every setting and every source.
   */
  private resolveEntry(entry: RawEntry): ResolvedEntry {
    const cached = this.resolvedEntries.get(entry);
    if (cached !== undefined) return cached;
    const uses: PlaceholderUse[] = [];
    const resolveText = (text: string): string => {
      if (!hasPlaceholders(text)) return text;
      const resolved = resolvePlaceholders(text, this.lookupPlaceholder);
      uses.push(...resolved.uses);
      return resolved.value;
    };
    let resolved: ResolvedEntry;
    try {
      resolved = { entry, value: typeof entry.value === 'string' ? resolveText(entry.value) : entry.value.map(resolveText), uses };
    } catch (error) {
      if (!(error instanceof PlaceholderError)) throw error;
      resolved = { entry, value: undefined, uses, error };
    }
    this.resolvedEntries.set(entry, resolved);
    return resolved;
  }

  /** Resolves one setting, records its binding, and returns its value (undefined when unset or invalid). */
  resolve<T>(setting: Setting<T>, sources: readonly ConfigSource[] = this.byPrecedence): T | undefined {
    const blanks: ResolvedEntry[] = [];
    const chosen = this.choose(
      setting,
      sources,
      (source, key) => {
        const resolved = source.lookup(key).map((entry) => this.resolveEntry(entry));
        blanks.push(...resolved.filter(resolvedBlank));
        const all = resolved.filter((candidate) => !resolvedBlank(candidate));
        const [entry] = all;
        return entry && { entry, all };
      },
      (found) => found.entry.entry.key,
    );
    if (chosen === undefined) {
      const value = setting.default === undefined ? undefined : setting.parser.parse(setting.default, this.context);
      const [blank] = blanks;
      this.bind(setting, value, {
        key: setting.keys[0] ?? setting.name,
        source: defaultSource,
        ...(blank === undefined ? {} : { blank: { key: blank.entry.key, source: blank.entry.source, placeholders: blank.uses } }),
      });
      return value;
    }

    const { entry: resolved, all } = chosen.found;
    const { entry } = resolved;
    const viaPlaceholders = resolved.uses.length > 0;
    const shown = (value: RawValue) => (setting.secret ? maskedValue : redacted(setting, asText(value)));
    const where = {
      key: entry.key,
      source: entry.source,
      ...(viaPlaceholders ? { placeholders: resolved.uses } : {}),
      ...(viaPlaceholders && !setting.secret ? { written: shown(entry.value) } : {}),
    };
    const fail = (problem: string): undefined => {
      this.problems.push(problem);
      this.bindings.push({
        setting,
        value: undefined,
        origin: { setting: setting.name, ...where, value: shown(resolved.value ?? entry.value) },
        failed: true,
      });
      return undefined;
    };
    if (resolved.error !== undefined) {
      const written = setting.secret ? undefined : shown(entry.value);
      return fail(`${entry.key} (${entry.source}): ${describePlaceholderError(resolved.error, written)}.`);
    }
    const effective = (candidate: ResolvedEntry): RawValue => candidate.value ?? candidate.entry.value;
    if (new Set(all.map((spelling) => JSON.stringify(effective(spelling)))).size > 1) {
      const values = setting.secret ? '' : `: ${all.map((spelling) => `${spelling.entry.key}=${shown(effective(spelling))}`).join(', ')}`;
      return fail(
        `${all.map((spelling) => spelling.entry.key).join(' and ')} in ${chosen.source.name} are spellings of the same key with different values${values}.`,
      );
    }
    const value = effective(resolved);
    try {
      const parsed = setting.parser.parse(value, this.context);
      this.bind(setting, parsed, where);
      return parsed;
    } catch (error) {
      if (!(error instanceof InvalidValueError)) throw error;
      const from = 'written' in where ? ` (resolved from ${where.written})` : '';
      return fail(`${entry.key} (${entry.source}) = ${shown(value)}${from} ${error.message}.`);
    }
  }

  /**
   * Which accepted list key applies and the one source that supplies the list; the elements are
   * then resolved against that source alone.
   */
  chooseList(list: ListSetting): { key: string; source: ConfigSource } | undefined {
    return this.choose(
      list,
      this.byPrecedence,
      (source, key) => {
        if (!source.hasKeysUnder(key)) return undefined;
        return source.name === environmentSourceName ? `${environmentName(key)}_*` : `${key}[*]`;
      },
      (spelled) => spelled,
    );
  }

  private bind<T>(setting: Setting<T>, value: T | undefined, where: Omit<SettingOrigin, 'setting' | 'value'>): void {
    const shown = value === undefined ? notSetValue : setting.secret ? maskedValue : redacted(setting, setting.parser.format(value));
    this.bindings.push({ setting, value, origin: { setting: setting.name, ...where, value: shown }, failed: false });
  }
}
