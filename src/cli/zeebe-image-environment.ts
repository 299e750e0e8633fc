import os from 'node:os';
import { canonicalSegments, environmentSegments, relaxedForm } from '../config/keys.js';
import { boolean, InvalidValueError } from '../config/parsers.js';
import { nodeIdSetting } from '../config/settings.js';
import { UsageError } from '../errors.js';

/**
 * The variables the Zeebe image's entry script and the Camunda Helm chart's `startup.sh` turn into
 * restore arguments, so that this agent can replace their restore step without changing a
 * deployment's variables.
 */
export const backupIdVariable = 'ZEEBE_RESTORE_FROM_BACKUP_ID';
export const timestampVariables = ['ZEEBE_RESTORE_FROM_TIMESTAMP', 'ZEEBE_RESTORE_TO_TIMESTAMP'] as const;
export const nodeIdFromHostnameVariable = 'ZEEBE_RESTORE_NODE_ID_FROM_HOSTNAME';
/** `global.multiregion.regions` and `.regionId` of the chart, which its node-id formula uses. */
export const regionsVariable = 'ZEEBE_RESTORE_MULTIREGION_REGIONS';
export const regionIdVariable = 'ZEEBE_RESTORE_MULTIREGION_REGIONID';
/** The 8.9 chart's own variable; its `startup.sh` keeps a preset value (`${VALUES_ORCHESTRATION_NODE_ID:-…}`). */
export const chartNodeIdVariable = 'VALUES_ORCHESTRATION_NODE_ID';
/**
 * Where a derived node id goes: the unified key, because the agent reads it for every Zeebe version
 * and it wins over both YAML generations, including the 8.8+/8.9 charts' `camunda.cluster.node-id`.
 */
export const derivedNodeIdVariable = 'CAMUNDA_CLUSTER_NODEID';

export interface Multiregion {
  regions: number;
  regionId: number;
}

/**
 * The node id the Camunda Helm chart's `startup.sh` gives a broker pod:
 * `${K8S_NAME##*-} * regions + regionId` (regions 1, region 0 unless the cluster spans regions).
 * `${K8S_NAME##*-}` is the text after the last `-`, or the whole name when there is none; it must
 * be a StatefulSet ordinal, else the chart's shell arithmetic would silently yield a wrong id.
 */
export function nodeIdFromPodName(podName: string, multiregion: Multiregion = { regions: 1, regionId: 0 }): number {
  const dash = podName.lastIndexOf('-');
  const ordinal = dash < 0 ? podName : podName.slice(dash + 1);
  const fix = `Set ZEEBE_BROKER_CLUSTER_NODEID (or ${derivedNodeIdVariable}) to this broker's node id instead.`;
  if (dash < 0) {
    throw new UsageError(
      `Cannot derive the node id from the pod name '${podName}': it does not end in '-<ordinal>' like a StatefulSet pod (camunda-zeebe-2). ${fix}`,
    );
  }
  if (!/^(0|[1-9]\d*)$/.test(ordinal) || !Number.isSafeInteger(Number(ordinal))) {
    throw new UsageError(
      `Cannot derive the node id from the pod name '${podName}': '${ordinal}' after the last '-' is not a StatefulSet pod ordinal (a whole number). ${fix}`,
    );
  }
  return Number(ordinal) * multiregion.regions + multiregion.regionId;
}

export interface CommandLine {
  /** `--backupId` as given on the command line. */
  backupId?: string;
  /** `--from`/`--to` as given on the command line (Zeebe 8.9 time-range restore). */
  from?: string;
  to?: string;
  /** `--node-id-from-hostname`. */
  nodeIdFromHostname?: boolean;
}

export interface EffectiveInvocation {
  /** The backup id (or comma-separated ids) to restore, from the command line or the Zeebe image's variable. */
  backupId?: string;
  /** The time range to restore, from the command line or the Zeebe image's variables; never together with backupId. */
  from?: string;
  to?: string;
  /** The environment to read the broker configuration from: the given one, plus a derived node id. */
  env: NodeJS.ProcessEnv;
  /** What was taken from where, for the log. */
  notes: string[];
}

const isSet = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

function backupIdFrom(commandLine: CommandLine, env: NodeJS.ProcessEnv): { backupId?: string; note?: string } {
  const fromEnvironment = env[backupIdVariable]?.trim();
  if (!isSet(fromEnvironment)) return commandLine.backupId === undefined ? {} : { backupId: commandLine.backupId };
  // The value is judged by the same parser as --backupId, after this; here it only has to agree.
  if (commandLine.backupId === undefined) {
    return { backupId: fromEnvironment, note: `Backup id ${fromEnvironment} from ${backupIdVariable}.` };
  }
  if (!sameBackupIds(commandLine.backupId, fromEnvironment)) {
    throw new UsageError(
      `--backupId=${commandLine.backupId} and ${backupIdVariable}=${fromEnvironment} name different backups; ` +
        `pass one of them, or the same id in both.`,
    );
  }
  return { backupId: commandLine.backupId };
}

/**
 * `--from`/`--to`, or the image's `ZEEBE_RESTORE_FROM_TIMESTAMP`/`ZEEBE_RESTORE_TO_TIMESTAMP`.
 * Like the image's entry script, a backup id wins over the timestamp variables: they are then
 * ignored (and the log says so). Values are judged by the --from/--to parser afterwards.
 */
function timeRangeFrom(
  commandLine: CommandLine,
  env: NodeJS.ProcessEnv,
  backupId: string | undefined,
): { from?: string; to?: string; notes: string[] } {
  const [fromVariable, toVariable] = timestampVariables;
  const setVariables = timestampVariables.filter((name) => isSet(env[name]));
  const result: { from?: string; to?: string; notes: string[] } = { notes: [] };
  if (commandLine.from !== undefined) result.from = commandLine.from;
  if (commandLine.to !== undefined) result.to = commandLine.to;
  if (setVariables.length === 0) return result;
  if (backupId !== undefined && commandLine.from === undefined && commandLine.to === undefined) {
    result.notes.push(`Ignoring ${setVariables.join(' and ')}: a backup id is given, which wins, as in the Zeebe image.`);
    return result;
  }
  for (const [option, name] of [['from', fromVariable], ['to', toVariable]] as const) {
    const fromEnvironment = env[name]?.trim();
    if (!isSet(fromEnvironment)) continue;
    const given = commandLine[option];
    if (given === undefined) {
      result[option] = fromEnvironment;
      result.notes.push(`--${option}=${fromEnvironment} from ${name}.`);
    } else if (given.trim() !== fromEnvironment) {
      throw new UsageError(`--${option}=${given} and ${name}=${fromEnvironment} differ; pass one of them, or the same instant in both.`);
    }
  }
  return result;
}

/** The same ids, in any order and spelling (`7,8` = `008, 7`). */
function sameBackupIds(a: string, b: string): boolean {
  const canonical = (text: string) =>
    text
      .split(',')
      .map((part) => part.trim())
      .map((part) => (/^\d+$/.test(part) ? BigInt(part).toString() : part))
      .sort()
      .join();
  return a.trim() === b.trim() || canonical(a) === canonical(b);
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = env[name];
  if (!isSet(value)) return false;
  try {
    return boolean.parse(value, { cwd: '.' }) ?? false;
  } catch (error) {
    if (error instanceof InvalidValueError) throw new UsageError(`${name}=${value} must be true or false.`);
    throw error;
  }
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, minimum: number): number {
  const value = env[name];
  if (!isSet(value)) return fallback;
  const text = value.trim();
  if (!/^\d+$/.test(text) || Number(text) < minimum || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${name}=${value} must be a whole number ≥ ${minimum}.`);
  }
  return Number(text);
}

/** Environment variables that already set the node id, in any relaxed-binding spelling. */
function nodeIdVariablesIn(env: NodeJS.ProcessEnv): string[] {
  const forms = new Set(nodeIdSetting.keys.map((key) => relaxedForm(canonicalSegments(key))));
  return Object.keys(env)
    .filter((name) => isSet(env[name]) && forms.has(relaxedForm(environmentSegments(name))))
    .sort();
}

function nodeIdFrom(
  commandLine: CommandLine,
  env: NodeJS.ProcessEnv,
  hostname: () => string,
): { env: NodeJS.ProcessEnv; note?: string } {
  if (!commandLine.nodeIdFromHostname && !flag(env, nodeIdFromHostnameVariable)) return { env };
  const preset = nodeIdVariablesIn(env);
  if (preset.length > 0) {
    // Like the chart: `${ZEEBE_BROKER_CLUSTER_NODEID:-…}` keeps a node id that is already set.
    return { env, note: `Node id from ${preset.join(', ')}; the pod name is not used.` };
  }
  const chartValue = env[chartNodeIdVariable];
  if (isSet(chartValue)) {
    if (!/^\d+$/.test(chartValue.trim())) throw new UsageError(`${chartNodeIdVariable}=${chartValue} is not a node id (a whole number).`);
    const nodeId = String(Number(chartValue.trim()));
    return {
      env: { ...env, [derivedNodeIdVariable]: nodeId },
      note: `Node id ${nodeId} from ${chartNodeIdVariable}, as the Camunda Helm chart uses it; set as ${derivedNodeIdVariable}.`,
    };
  }
  const regions = wholeNumber(env, regionsVariable, 1, 1);
  const regionId = wholeNumber(env, regionIdVariable, 0, 0);
  if (regionId >= regions) throw new UsageError(`${regionIdVariable}=${regionId} must be less than ${regionsVariable}=${regions}.`);
  // The chart reads K8S_NAME (the pod's metadata.name); a pod's HOSTNAME is the same name.
  const [source, name] = isSet(env.K8S_NAME)
    ? ['K8S_NAME', env.K8S_NAME]
    : isSet(env.HOSTNAME)
      ? ['HOSTNAME', env.HOSTNAME]
      : ['the host name', hostname()];
  const podName = name.trim();
  const nodeId = String(nodeIdFromPodName(podName, { regions, regionId }));
  const formula = regions === 1 ? '' : ` (ordinal × ${regions} + ${regionId})`;
  return {
    env: { ...env, [derivedNodeIdVariable]: nodeId },
    note: `Node id ${nodeId} from the pod name ${podName} (${source})${formula}, as the Camunda Helm chart derives it; set as ${derivedNodeIdVariable}.`,
  };
}

/**
 * Applies the Zeebe image's restore variables and, when asked, the Helm chart's node-id rule:
 * returns the backup id or time range to restore and the environment to read the configuration from. The given
 * environment is not modified.
 */
export function zeebeImageEnvironment(
  commandLine: CommandLine,
  env: NodeJS.ProcessEnv,
  hostname: () => string = os.hostname,
): EffectiveInvocation {
  const backup = backupIdFrom(commandLine, env);
  const range = timeRangeFrom(commandLine, env, backup.backupId);
  const node = nodeIdFrom(commandLine, env, hostname);
  return {
    ...(backup.backupId === undefined ? {} : { backupId: backup.backupId }),
    ...(range.from === undefined ? {} : { from: range.from }),
    ...(range.to === undefined ? {} : { to: range.to }),
    env: node.env,
    notes: [backup.note, ...range.notes, node.note].filter((note) => note !== undefined),
  };
}
