/**
 * Spring's property placeholders, `${name}` and `${name:default}`, which the Camunda Helm charts use
 * in the broker's `application.yaml` (8.9: `node-id: "${VALUES_ORCHESTRATION_NODE_ID:}"`).
 *
 * Parsing follows Spring Framework 6.2's `org.springframework.util.PlaceholderParser`, which Spring
 * Boot 3.4+ (Camunda 8.8/8.9) uses through `PropertySourcesPlaceholdersResolver` with prefix `${`,
 * suffix `}`, separator `:` and escape character `\` (`SystemPropertyUtils.ESCAPE_CHARACTER`):
 * - a placeholder ends at the `}` that balances its `${`, counting every `{` inside (the parser's
 *   "simple prefix"), so placeholders nest: `${A:${B:x}}`; a `${` without a closing `}` is text;
 * - `\${` is the text `${` (the escape is dropped), and `\:` in a key is a `:` of the key;
 * - the default starts after the first unescaped `:` outside nested placeholders and may be empty;
 * - a key may itself contain placeholders (`${${NAME}}`), which are resolved first;
 * - a value found for a name is resolved again, recursively; a name met again while resolving its
 *   own value is a circular reference (`PartResolutionContext#flagPlaceholderAsVisited`). Spring
 *   6.2.0 forgot the recursion for keys with nested placeholders (spring-framework#34020, a
 *   regression fixed in 6.2.1); we always recurse, like every other Spring version.
 *
 * One deliberate difference: Boot's binder is created with `ignoreUnresolvablePlaceholders = true`
 * and binds an unresolvable `${X}` as that literal text (a number then fails to convert, a bucket
 * name would silently be `${X}`). For a restore that must read what the broker reads, guessing is
 * worse than stopping, so an unresolvable placeholder is an error here.
 */

const prefix = '${';
const suffix = '}';
const simplePrefix = '{';
const separator = ':';
const escape = '\\';

type Part = { text: string } | { key: Part[]; fallback?: Part[] };

/** Where the value of one looked-up name came from. */
export interface FoundProperty {
  /** The key or variable that supplied it, as written (`ZEEBE_BROKER_CLUSTER_NODEID`). */
  key: string;
  /** `environment` or the YAML file. */
  source: string;
  value: string;
}

/** One name looked up while resolving a value: found (with where) or not (its default was used). */
export interface PlaceholderUse {
  name: string;
  found?: { key: string; source: string };
}

export class PlaceholderError extends Error {
  constructor(
    readonly kind: 'unresolvable' | 'circular',
    /** The placeholder's name. */
    readonly placeholder: string,
    /** Names whose values were being resolved when it happened, outermost first. */
    readonly chain: readonly string[],
  ) {
    super(kind === 'unresolvable' ? `could not resolve placeholder '${placeholder}'` : `circular placeholder reference '${placeholder}'`);
  }
}

const isEscaped = (value: string, index: number): boolean => index > 0 && value[index - 1] === escape;

function addText(parts: Part[], text: string): void {
  if (text === '') return;
  const last = parts.at(-1);
  if (last !== undefined && 'text' in last) parts[parts.length - 1] = { text: last.text + text };
  else parts.push({ text });
}

/** The index of the `}` closing the placeholder whose `${` is at `start`, or -1. */
function closingIndex(value: string, start: number): number {
  let nested = 0;
  for (let index = start + prefix.length; index < value.length; ) {
    if (value.startsWith(suffix, index)) {
      if (nested === 0) return index;
      nested--;
      index += suffix.length;
    } else if (value.startsWith(simplePrefix, index)) {
      nested++;
      index += simplePrefix.length;
    } else {
      index++;
    }
  }
  return -1;
}

/** Splits at the first unescaped separator; escaped separators become plain ones in the key. */
function splitKeyAndDefault(text: string): { key: string; fallback?: string } {
  let key = '';
  let position = 0;
  for (let index = text.indexOf(separator); index !== -1; index = text.indexOf(separator, position)) {
    if (!isEscaped(text, index)) {
      return { key: key + text.slice(position, index), fallback: text.slice(index + separator.length) };
    }
    key += text.slice(position, index - 1) + separator;
    position = index + separator.length;
  }
  return { key: key + text.slice(position) };
}

function parse(value: string, inPlaceholder: boolean): Part[] {
  let start = value.indexOf(prefix);
  if (start === -1) {
    if (!inPlaceholder) return value === '' ? [] : [{ text: value }];
    const { key, fallback } = splitKeyAndDefault(value);
    return [{ key: [{ text: key }], ...(fallback === undefined ? {} : { fallback: fallback === '' ? [] : [{ text: fallback }] }) }];
  }
  const parts: Part[] = [];
  let position = 0;
  while (start !== -1) {
    const end = closingIndex(value, start);
    if (end === -1) {
      addText(parts, value.slice(position, start + prefix.length));
      position = start + prefix.length;
    } else if (isEscaped(value, start)) {
      addText(parts, value.slice(position, start - 1));
      addText(parts, prefix);
      position = start + prefix.length;
    } else {
      addText(parts, value.slice(position, start));
      parts.push(...parse(value.slice(start + prefix.length, end), true));
      position = end + suffix.length;
    }
    start = value.indexOf(prefix, position);
  }
  addText(parts, value.slice(position));
  return inPlaceholder ? [nestedPlaceholder(parts)] : parts;
}

/** A placeholder whose text contains placeholders: the key runs up to the first separator in a text part. */
function nestedPlaceholder(parts: Part[]): Part {
  const key: Part[] = [];
  for (const [index, part] of parts.entries()) {
    if ('text' in part) {
      const split = splitKeyAndDefault(part.text);
      if (split.fallback !== undefined) {
        addText(key, split.key);
        const fallback: Part[] = [];
        addText(fallback, split.fallback);
        return { key, fallback: [...fallback, ...parts.slice(index + 1)] };
      }
      addText(key, split.key);
    } else {
      key.push(part);
    }
  }
  return { key };
}

/** Whether the text has a placeholder or an escaped `${`, i.e. whether resolving can change it. */
export function hasPlaceholders(text: string): boolean {
  return text.includes(prefix);
}

/**
 * Resolves every placeholder in `text`, looking names up with `lookup` (which returns the raw,
 * unresolved value of a name, or undefined when no source has it). Throws {@link PlaceholderError}.
 */
export function resolvePlaceholders(
  text: string,
  lookup: (name: string) => FoundProperty | undefined,
): { value: string; uses: PlaceholderUse[] } {
  const uses: PlaceholderUse[] = [];
  const chain: string[] = [];

  const resolveAll = (parts: readonly Part[]): string => parts.map(resolvePart).join('');
  const resolvePart = (part: Part): string => {
    if ('text' in part) return part.text;
    const name = resolveAll(part.key);
    const found = lookup(name);
    if (found !== undefined) {
      if (chain.includes(name)) throw new PlaceholderError('circular', name, [...chain, name]);
      uses.push({ name, found: { key: found.key, source: found.source } });
      chain.push(name);
      const value = resolveAll(parse(found.value, false));
      chain.pop();
      return value;
    }
    uses.push({ name });
    if (part.fallback !== undefined) return resolveAll(part.fallback);
    throw new PlaceholderError('unresolvable', name, [...chain]);
  };

  return { value: resolveAll(parse(text, false)), uses };
}
