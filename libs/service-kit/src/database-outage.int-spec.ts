import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { TEST_POSTGRES_URL, freePort } from '@flotilla/testing';
import { databaseOutage } from './database-outage';

/** The error a promise rejects with (these must reject). */
async function failureOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('databaseOutage: real Postgres failures as the caller should see them', () => {
  it('no server on the port (pg and TypeORM): ServiceUnavailable', async () => {
    const url = `postgres://postgres@127.0.0.1:${await freePort()}/postgres`;
    const pgError = await failureOf(new Client({ connectionString: url, connectionTimeoutMillis: 2000 }).connect());
    expect(databaseOutage(pgError)).toMatchObject({ reason: ErrorReason.ServiceUnavailable, message: 'the database is unavailable; retry shortly' });
    const ds = new DataSource({ type: 'postgres', url, connectTimeoutMS: 2000 });
    const typeormError = await failureOf(ds.initialize());
    expect(databaseOutage(typeormError)?.reason).toBe(ErrorReason.ServiceUnavailable);
  });

  it('a connection the server terminates (admin shutdown of the backend): ServiceUnavailable; a statement timeout: Timeout; a real SQL error: not an outage', async () => {
    const victim = new Client({ connectionString: TEST_POSTGRES_URL });
    const admin = new Client({ connectionString: TEST_POSTGRES_URL });
    victim.on('error', () => undefined);
    await victim.connect();
    await admin.connect();
    try {
      const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const sleeping = failureOf(victim.query('SELECT pg_sleep(30)'));
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      expect(databaseOutage(await sleeping)?.reason).toBe(ErrorReason.ServiceUnavailable);

      await admin.query("SET statement_timeout = '50ms'");
      expect(databaseOutage(await failureOf(admin.query('SELECT pg_sleep(2)')))?.reason).toBe(ErrorReason.Timeout);
      await admin.query('RESET statement_timeout');

      expect(databaseOutage(await failureOf(admin.query('SELECT * FROM no_such_table_here')))).toBeUndefined();
      expect(databaseOutage(new FlotillaError(ErrorReason.NotFound, 'x'))).toBeUndefined();
      expect(databaseOutage(new Error('something else'))).toBeUndefined();
    } finally {
      await victim.end().catch(() => undefined);
      await admin.end();
    }
  });
});
