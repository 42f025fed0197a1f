import { DataSource, EntitySchema, MixedList } from 'typeorm';

export interface DataSourceOptions {
  url: string;
  entities: MixedList<string | (new () => unknown) | EntitySchema>;
  migrations: MixedList<string | (new () => unknown)>;
  /** Application name shown in pg_stat_activity. */
  applicationName: string;
  poolSize?: number;
}

/**
 * A Postgres DataSource. `synchronize` is never on: the schema comes from migrations only,
 * each run in its own transaction.
 */
export function createDataSource(options: DataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    entities: options.entities,
    migrations: options.migrations,
    migrationsTableName: 'flotilla_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    applicationName: options.applicationName,
    // Every statement is bounded (issue 13): a stuck Postgres gives an error, never a caller
    // waiting forever; a transaction left idle is ended by the server.
    extra: { max: options.poolSize ?? 10, connectionTimeoutMillis: 5000, statement_timeout: 30_000, query_timeout: 35_000, idle_in_transaction_session_timeout: 60_000 },
  });
}
