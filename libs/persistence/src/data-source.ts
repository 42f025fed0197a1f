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
    extra: { max: options.poolSize ?? 10, connectionTimeoutMillis: 5000 },
  });
}
