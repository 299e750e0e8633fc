import { environmentName } from './keys.js';
import { InvalidValueError, type ParseContext } from './parsers.js';
import type { SettingOrigin } from './restore-config.js';
import type { Setting, ListSetting } from './settings.js';
import { environmentSourceName, type ConfigSource, type RawValue } from './sources.js';

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

/** `key (env KEY)` for every accepted key, for messages that ask the user to set one. */
export function acceptedKeys(setting: { keys: readonly string[] }): string {
  return setting.keys.map((key) => `${key} (env ${environmentName(key)})`).join(', ');
}

/**
 * Resolves settings against the sources: the first accepted key present in any source wins;
 * for that key the highest-precedence source wins. Collects every problem instead of stopping at
 * the first, so the user can fix the configuration in one go.
 */
export class Resolver {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];
  readonly bindings: Binding[] = [];
  private readonly byPrecedence: readonly ConfigSource[];

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

  /** Resolves one setting, records its binding, and returns its value (undefined when unset or invalid). */
  resolve<T>(setting: Setting<T>, sources: readonly ConfigSource[] = this.byPrecedence): T | undefined {
    const chosen = this.choose(
      setting,
      sources,
      (source, key) => {
        const all = source.lookup(key);
        const [entry] = all;
        return entry && { entry, all };
      },
      (found) => found.entry.key,
    );
    if (chosen === undefined) {
      const value = setting.default === undefined ? undefined : setting.parser.parse(setting.default, this.context);
      this.bind(setting, value, { key: setting.keys[0] ?? setting.name, source: defaultSource });
      return value;
    }

    const { entry, all } = chosen.found;
    const where = { key: entry.key, source: entry.source };
    const shown = (value: RawValue) => (setting.secret ? maskedValue : typeof value === 'string' ? value : value.join(','));
    const fail = (problem: string): undefined => {
      this.problems.push(problem);
      this.bindings.push({ setting, value: undefined, origin: { setting: setting.name, ...where, value: shown(entry.value) }, failed: true });
      return undefined;
    };
    if (new Set(all.map((spelling) => JSON.stringify(spelling.value))).size > 1) {
      const values = setting.secret ? '' : `: ${all.map((spelling) => `${spelling.key}=${shown(spelling.value)}`).join(', ')}`;
      return fail(
        `${all.map((spelling) => spelling.key).join(' and ')} in ${chosen.source.name} are spellings of the same key with different values${values}.`,
      );
    }
    try {
      const value = setting.parser.parse(entry.value, this.context);
      this.bind(setting, value, where);
      return value;
    } catch (error) {
      if (!(error instanceof InvalidValueError)) throw error;
      return fail(`${entry.key} (${entry.source}) = ${shown(entry.value)} ${error.message}.`);
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

  private bind<T>(setting: Setting<T>, value: T | undefined, where: { key: string; source: string }): void {
    const shown = value === undefined ? notSetValue : setting.secret ? maskedValue : setting.parser.format(value);
    this.bindings.push({ setting, value, origin: { setting: setting.name, ...where, value: shown }, failed: false });
  }
}
