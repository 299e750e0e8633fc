import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { nodeIdFromPodName } from '../../src/cli/zeebe-image-environment.js';
import { projectRoot } from '../support/fixtures.js';

const directory = join(projectRoot, 'examples/kubernetes');
const files = readdirSync(directory).filter((name) => /\.ya?ml$/.test(name)).sort();

type Json = Record<string, unknown>;

function documents(file: string): Json[] {
  return parseAllDocuments(readFileSync(join(directory, file), 'utf8')).map((document) => {
    expect(document.errors, `${file}: ${document.errors.map((e) => e.message).join('; ')}`).toEqual([]);
    expect(document.warnings, file).toEqual([]);
    return document.toJS() as Json;
  });
}

interface Container {
  name: string;
  image: string;
  command?: unknown;
  args?: unknown;
  workingDir?: string;
  env?: { name: string; value?: string; valueFrom?: Json }[];
  envFrom?: Json[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
  securityContext?: Json;
}

/** Every restore init container in the examples, wherever it sits in the file. */
function initContainers(file: string): Container[] {
  return documents(file).flatMap((document) => {
    if (document.kind === 'StatefulSet') {
      const spec = (document.spec as { template: { spec: { initContainers: Container[] } } }).template.spec;
      return spec.initContainers;
    }
    const section = (document.zeebe ?? document.orchestration) as { initContainers?: Container[] } | undefined;
    return section?.initContainers ?? [];
  });
}

describe('examples/kubernetes', () => {
  it('has the manifests and Helm values it documents', () => {
    expect(files).toEqual(['restore-configmap.yaml', 'statefulset-patch.yaml', 'values-restore-8.7.yaml', 'values-restore-8.8.yaml']);
  });

  it.each(files)('%s parses as YAML', (file) => {
    expect(documents(file).length).toBeGreaterThan(0);
  });

  it('manifests have the expected kinds', () => {
    expect(documents('restore-configmap.yaml').map((d) => `${d.apiVersion}/${d.kind}`)).toEqual(['v1/ConfigMap', 'v1/Secret']);
    expect(documents('statefulset-patch.yaml').map((d) => `${d.apiVersion}/${d.kind}`)).toEqual(['apps/v1/StatefulSet']);
    // Helm values files have no kind: their top-level keys are the chart's components.
    expect(Object.keys(documents('values-restore-8.7.yaml')[0]!)).toEqual(['zeebe']);
    expect(Object.keys(documents('values-restore-8.8.yaml')[0]!)).toEqual(['orchestration']);
  });

  const homes: Record<string, string> = {
    'statefulset-patch.yaml': '/usr/local/zeebe',
    'values-restore-8.7.yaml': '/usr/local/zeebe',
    'values-restore-8.8.yaml': '/usr/local/camunda',
  };

  describe.each(Object.entries(homes))('the init container in %s', (file, home) => {
    const [container, ...others] = initContainers(file);

    it('runs the image entry point in the broker working directory', () => {
      expect(others).toEqual([]);
      expect(container!.image).toMatch(/\/zeebe-restore-agent:\d+\.\d+\.\d+$/);
      expect(container!.command).toBeUndefined();
      expect(container!.args).toBeUndefined();
      expect(container!.workingDir).toBe(home);
    });

    it("mounts the broker's config and data volumes where the broker has them", () => {
      expect(container!.volumeMounts).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'config', mountPath: `${home}/config/application.yaml`, subPath: 'application.yaml' }),
          expect.objectContaining({ name: 'data', mountPath: `${home}/data` }),
        ]),
      );
    });

    it('derives the node id from the pod name and takes the backup id from the ConfigMap', () => {
      const env = Object.fromEntries((container!.env ?? []).map((variable) => [variable.name, variable]));
      expect(env.K8S_NAME?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
      expect(env.ZEEBE_RESTORE_NODE_ID_FROM_HOSTNAME?.value).toBe('true');
      expect(env.ZEEBE_RESTORE_FROM_BACKUP_ID?.valueFrom).toEqual({
        configMapKeyRef: { name: 'zeebe-restore', key: 'ZEEBE_RESTORE_FROM_BACKUP_ID' },
      });
      // A node id set for every pod alike would make each pod restore node 0's partitions.
      expect(env).not.toHaveProperty('ZEEBE_BROKER_CLUSTER_NODEID');
      expect(env).not.toHaveProperty('CAMUNDA_CLUSTER_NODEID');
    });

    it('reads the backup store from the Secret the brokers use, as the Zeebe image user', () => {
      expect(container!.envFrom).toEqual([{ secretRef: { name: 'zeebe-backup-store' } }]);
      expect(container!.securityContext).toMatchObject({ runAsUser: 1001, runAsNonRoot: true, readOnlyRootFilesystem: true });
    });
  });

  it('the Helm values give the brokers the same backup store Secret', () => {
    for (const file of ['values-restore-8.7.yaml', 'values-restore-8.8.yaml']) {
      const section = Object.values(documents(file)[0]!)[0] as { envFrom: Json[] };
      expect(section.envFrom).toEqual([{ secretRef: { name: 'zeebe-backup-store' } }]);
    }
  });

  it('the ConfigMap holds a valid backup id under the Zeebe image variable', () => {
    const [configMap] = documents('restore-configmap.yaml');
    expect((configMap!.data as Json).ZEEBE_RESTORE_FROM_BACKUP_ID).toMatch(/^[1-9]\d*$/);
  });

  it.each([
    ['camunda-zeebe-0', 0],
    ['camunda-zeebe-2', 2],
    ['zeebe-2', 2],
    ['camunda-zeebe-10', 10],
  ])('a StatefulSet pod %s restores node %i', (podName, nodeId) => {
    expect(nodeIdFromPodName(podName)).toBe(nodeId);
  });

  it.each(['zeebe', 'zeebe-x'])('a pod name %s without an ordinal is a clear error', (podName) => {
    expect(() => nodeIdFromPodName(podName)).toThrow(/Cannot derive the node id from the pod name/);
  });
});
