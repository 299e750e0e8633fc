/** Zeebe's `ClusterConfigurationManagerService.TOPOLOGY_FILE_NAME`, directly in the data directory. */
export const topologyFileName = '.topology.meta';

/** Zeebe writes the file from 8.8 on; the broker version of the restored backups decides. */
export function brokerWritesTopologyFile(brokerVersion: string | undefined): boolean {
  const match = brokerVersion === undefined ? null : /^(\d+)\.(\d+)/.exec(brokerVersion);
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 8 || (major === 8 && minor >= 8);
}
