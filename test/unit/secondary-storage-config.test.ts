import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { maskUrlCredentials } from '../../src/config/mask-url-credentials.js';
import { renderConfig } from '../../src/config/print-config.js';
import { UsageError } from '../../src/errors.js';
import { readExportedPositions } from '../../src/rdbms/exported-positions.js';
import { parseJdbcUrl } from '../../src/rdbms/jdbc-url.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function load(applicationYaml: string | undefined, env: NodeJS.ProcessEnv = {}) {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'secondary-storage-'));
  dirs.push(cwd);
  if (applicationYaml !== undefined) {
    mkdirSync(path.join(cwd, 'config'));
    writeFileSync(path.join(cwd, 'config/application.yaml'), applicationYaml);
  }
  return loadConfig({ cwd, env });
}

describe('secondary storage rdbms in every spelling the broker accepts', () => {
  it('defaults to elasticsearch and reads no RDBMS settings then', () => {
    const loaded = load(undefined, { CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_URL: 'jdbc:postgresql://db/camunda' });
    expect(loaded.config.secondaryStorage).toEqual({ type: 'elasticsearch' });
    expect(renderConfig(loaded)).not.toContain('rdbms.url');
  });

  it('8.9 YAML (kebab-case and camelCase) and the documented environment spellings', () => {
    const yaml = load(
      'camunda:\n  data:\n    secondary-storage:\n      type: rdbms\n      rdbms:\n        url: jdbc:postgresql://db:5432/camunda\n' +
        '        username: camunda\n        password: s3cret\n        prefix: " c8_ "\n        databaseVendorId: postgresql\n',
    );
    expect(yaml.config.secondaryStorage).toEqual({
      type: 'rdbms',
      url: 'jdbc:postgresql://db:5432/camunda',
      username: 'camunda',
      password: 's3cret',
      prefix: 'c8_',
      databaseVendorId: 'postgresql',
    });
    for (const env of [
      { CAMUNDA_DATA_SECONDARY_STORAGE_TYPE: 'RDBMS', CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_URL: 'jdbc:mariadb://db/camunda', CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_DATABASE_VENDOR_ID: 'mariadb' },
      { CAMUNDA_DATA_SECONDARYSTORAGE_TYPE: 'rdbms', CAMUNDA_DATA_SECONDARYSTORAGE_RDBMS_URL: 'jdbc:mariadb://db/camunda', CAMUNDA_DATA_SECONDARYSTORAGE_RDBMS_DATABASEVENDORID: 'mariadb' },
    ]) {
      expect(load(undefined, env).config.secondaryStorage).toEqual({ type: 'rdbms', url: 'jdbc:mariadb://db/camunda', databaseVendorId: 'mariadb' });
    }
  });

  it('the 8.7/8.8 keys camunda.database.* and spring.datasource.* as fallbacks; the unified key wins with a warning', () => {
    const legacy = load(
      'camunda:\n  database:\n    type: rdbms\n    index-prefix: old_\nspring:\n  datasource:\n    url: jdbc:mysql://db/camunda\n    username: u\n    password: p\n',
    );
    expect(legacy.config.secondaryStorage).toEqual({ type: 'rdbms', url: 'jdbc:mysql://db/camunda', username: 'u', password: 'p', prefix: 'old_' });
    const both = load('camunda.database.type: rdbms\ncamunda.database.url: jdbc:mysql://old/camunda\n', {
      CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_URL: 'jdbc:mysql://new/camunda',
    });
    expect(both.config.secondaryStorage).toMatchObject({ url: 'jdbc:mysql://new/camunda' });
    expect(both.warnings.join('\n')).toMatch(/camunda\.database\.url .* is ignored: CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_URL/);
  });

  it('the password is masked, also inside the URL; a prefix that is not a plain name and an unknown vendor id are configuration errors', () => {
    const loaded = load(undefined, {
      CAMUNDA_DATA_SECONDARY_STORAGE_TYPE: 'rdbms',
      CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_URL: 'jdbc:postgresql://db/camunda?user=camunda&password=Url-Secret-1&ssl=true',
      CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_PASSWORD: 'Setting-Secret-2',
    });
    const printed = renderConfig(loaded);
    expect(printed).toContain('secondaryStorage.rdbms.url = jdbc:postgresql://db/camunda?user=camunda&password=****&ssl=true');
    expect(printed).toContain('secondaryStorage.rdbms.password = ****');
    expect(printed).not.toMatch(/Url-Secret-1|Setting-Secret-2/);
    let error: unknown;
    try {
      load(undefined, {
        CAMUNDA_DATA_SECONDARY_STORAGE_TYPE: 'rdbms',
        CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_PREFIX: 'x; DROP TABLE y',
        CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_DATABASE_VENDOR_ID: 'db2',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain('CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_PREFIX (environment) = x; DROP TABLE y must consist of letters, digits and _ only');
    expect((error as Error).message).toContain('CAMUNDA_DATA_SECONDARY_STORAGE_RDBMS_DATABASE_VENDOR_ID (environment) = db2 is not one of h2, postgresql, oracle, mariadb, mysql, mssql');
  });

  it('masks the password of MySQL\'s user:password@host form and of ;password= parameters', () => {
    expect(maskUrlCredentials('jdbc:mysql://camunda:pa:ss@db:3306/camunda')).toBe('jdbc:mysql://camunda:****@db:3306/camunda');
    expect(maskUrlCredentials('jdbc:sqlserver://db;databaseName=c;password=x;encrypt=true')).toBe('jdbc:sqlserver://db;databaseName=c;password=****;encrypt=true');
  });
});

it('an RDBMS restore without a URL is a usage error naming every key that sets it', async () => {
  await expect(readExportedPositions({ type: 'rdbms' }, [1])).rejects.toThrow(
    /^The secondary storage is an RDBMS, but its JDBC URL is not set; set camunda\.data\.secondary-storage\.rdbms\.url \(env CAMUNDA_DATA_SECONDARYSTORAGE_RDBMS_URL\), camunda\.database\.url \(env CAMUNDA_DATABASE_URL\), spring\.datasource\.url/,
  );
});

describe('JDBC URLs', () => {
  it('PostgreSQL, MariaDB and MySQL, with default ports, several hosts, IPv6, parameters and the AWS wrapper', () => {
    expect(parseJdbcUrl('jdbc:postgresql://db.example:6543/camunda?currentSchema=c8&sslmode=require', 'k')).toEqual({
      protocol: 'postgresql',
      product: 'PostgreSQL',
      hosts: [{ host: 'db.example', port: 6543 }],
      database: 'camunda',
      parameters: new Map([['currentSchema', 'c8'], ['sslmode', 'require']]),
    });
    expect(parseJdbcUrl('jdbc:aws-wrapper:postgresql://a,b:5433/c', 'k').hosts).toEqual([{ host: 'a', port: 5432 }, { host: 'b', port: 5433 }]);
    expect(parseJdbcUrl('jdbc:mariadb:sequential://[::1]:3307,db/camunda', 'k')).toMatchObject({
      protocol: 'mysql',
      product: 'MariaDB',
      hosts: [{ host: '::1', port: 3307 }, { host: 'db', port: 3306 }],
    });
    expect(parseJdbcUrl('jdbc:mysql://u:p%40ss@db/camunda', 'k')).toMatchObject({
      product: 'MySQL',
      database: 'camunda',
      parameters: new Map([['user', 'u'], ['password', 'p@ss']]),
    });
  });

  it.each([
    ['jdbc:h2:mem:camunda', /H2 runs inside the broker/],
    ['jdbc:sqlserver://db:1433;databaseName=camunda;password=x', /names a database this agent cannot read \(no SQL Server could be run/],
    ['jdbc:oracle:thin:@//db:1521/XE', /no Oracle Database could be run/],
    ['postgresql://db/camunda', /is not a JDBC URL the agent can read/],
    ['jdbc:db2://db:50000/camunda', /names the database type 'db2'/],
    ['jdbc:postgresql://db:99999/camunda', /has the port 99999/],
  ])('%s is a usage error naming the key and what to write', (url, message) => {
    let error: unknown;
    try {
      parseJdbcUrl(url, 'camunda.data.secondary-storage.rdbms.url');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^camunda\.data\.secondary-storage\.rdbms\.url = /);
    expect((error as Error).message).not.toContain('password=x');
  });
});
