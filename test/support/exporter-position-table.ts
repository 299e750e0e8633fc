import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { DatabaseServer } from './database-server.js';

/**
 * A database of one of the test run's servers holding Camunda's exporter-position table, created
 * the way Camunda's Liquibase changeset `create_exporter_position_table` (rdbms-exporter 8.8.0/8.9.0)
 * creates `${prefix}EXPORTER_POSITION` on that vendor, with rows as `RdbmsExporter` writes them.
 * Written through the same drivers the agent uses, against the real servers.
 */
export interface ExporterPositionDatabase {
  /** The JDBC URL a broker would be configured with. */
  jdbcUrl: string;
  server: DatabaseServer;
  database: string;
  /** Inserts or replaces each partition's row; null leaves LAST_EXPORTED_POSITION NULL. */
  setPositions(positions: Record<number, bigint | null>): Promise<void>;
  deleteRow(partitionId: number): Promise<void>;
  close(): Promise<void>;
}

export type Vendor = 'postgresql' | 'mariadb';

/** Liquibase's DDL for the changeset on each vendor: NUMBER → NUMERIC/DECIMAL, DATETIME → TIMESTAMP/DATETIME. */
function createTableSql(vendor: Vendor, table: string): string {
  return vendor === 'postgresql'
    ? // Unquoted, so PostgreSQL folds the name (prefix included) to lower case, as it does for Liquibase's.
      `CREATE TABLE ${table} (PARTITION_ID NUMERIC NOT NULL, EXPORTER VARCHAR(200), LAST_EXPORTED_POSITION BIGINT, ` +
        `CREATED TIMESTAMP WITHOUT TIME ZONE, LAST_UPDATED TIMESTAMP WITHOUT TIME ZONE, CONSTRAINT PK_${table.replace('.', '_')} PRIMARY KEY (PARTITION_ID))`
    : `CREATE TABLE ${table} (PARTITION_ID DECIMAL NOT NULL, EXPORTER VARCHAR(200) NULL, LAST_EXPORTED_POSITION BIGINT NULL, ` +
        `CREATED datetime NULL, LAST_UPDATED datetime NULL, CONSTRAINT PK_${table} PRIMARY KEY (PARTITION_ID))`;
}

/**
 * A fresh database on `server` with the table `<prefix>EXPORTER_POSITION` (or none, for
 * `withTable: false`); on PostgreSQL optionally in a schema of its own, which the URL then names
 * as pgjdbc's `currentSchema`.
 */
export async function exporterPositionDatabase(
  vendor: Vendor,
  server: DatabaseServer,
  { prefix = '', withTable = true, schema }: { prefix?: string; withTable?: boolean; schema?: string } = {},
): Promise<ExporterPositionDatabase> {
  const database = `camunda_${randomUUID().slice(0, 8)}`;
  const table = `${schema === undefined ? '' : `${schema}.`}${prefix}EXPORTER_POSITION`;
  const run = vendor === 'postgresql' ? await postgresRunner(server, database) : await mariadbRunner(server, database);
  if (schema !== undefined) await run(`CREATE SCHEMA ${schema}`, []);
  if (withTable) await run(createTableSql(vendor, table), []);
  const placeholder = (i: number) => (vendor === 'postgresql' ? `$${i}` : '?');
  return {
    jdbcUrl: `jdbc:${vendor}://${server.host}:${server.port}/${database}${schema === undefined ? '' : `?currentSchema=${schema}`}`,
    server,
    database,
    async setPositions(positions) {
      for (const [partitionId, position] of Object.entries(positions)) {
        await run(`DELETE FROM ${table} WHERE PARTITION_ID = ${placeholder(1)}`, [Number(partitionId)]);
        // RdbmsExporter's row: its class name, the position, and local times without a zone.
        await run(
          `INSERT INTO ${table} (PARTITION_ID, EXPORTER, LAST_EXPORTED_POSITION, CREATED, LAST_UPDATED) ` +
            `VALUES (${placeholder(1)}, 'RdbmsExporter', ${placeholder(2)}, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
          [Number(partitionId), position === null ? null : position.toString()],
        );
      }
    },
    async deleteRow(partitionId) {
      await run(`DELETE FROM ${table} WHERE PARTITION_ID = ${placeholder(1)}`, [partitionId]);
    },
    close: () => run.close(),
  };
}

type Runner = ((sql: string, values: unknown[]) => Promise<void>) & { close(): Promise<void> };

async function postgresRunner(server: DatabaseServer, database: string): Promise<Runner> {
  const admin = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, password: server.password, database });
  await client.connect();
  return Object.assign(async (sql: string, values: unknown[]) => void (await client.query(sql, values)), { close: () => client.end() });
}

async function mariadbRunner(server: DatabaseServer, database: string): Promise<Runner> {
  const connection = await mysql.createConnection({ host: server.host, port: server.port, user: server.user, password: server.password });
  await connection.query(`CREATE DATABASE ${database}`);
  await connection.query(`USE ${database}`);
  return Object.assign(async (sql: string, values: unknown[]) => void (await connection.query(sql, values)), { close: () => connection.end() });
}
