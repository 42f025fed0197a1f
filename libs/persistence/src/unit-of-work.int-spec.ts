import { createTestDatabase, TestDatabase } from '@flotilla/testing';
import { createDataSource } from './data-source';
import { runMigrationsLocked } from './migrations';
import { Transaction, UnitOfWork, transactionManager } from './unit-of-work';

/** Two "repositories" of different tables, as two feature modules would have. */
const parents = {
  add: (tx: Transaction, name: string) => transactionManager(tx).query(`INSERT INTO parents (name) VALUES ($1)`, [name]),
};
const children = {
  add: (tx: Transaction, parent: string) => transactionManager(tx).query(`INSERT INTO children (parent) VALUES ($1)`, [parent]),
};

describe('UnitOfWork (real Postgres)', () => {
  let db: TestDatabase;
  let ds: ReturnType<typeof createDataSource>;
  let uow: UnitOfWork;

  const names = async (table: string) => ((await ds.query(`SELECT * FROM ${table} ORDER BY 1`)) as Record<string, string>[]).map((r) => Object.values(r)[0]);

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, entities: [], migrations: [], applicationName: 'unit-of-work-test' });
    await ds.initialize();
    await ds.query(`CREATE TABLE parents (name text PRIMARY KEY)`);
    await ds.query(`CREATE TABLE children (parent text NOT NULL)`);
    uow = new UnitOfWork(ds);
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('commits the writes of several repositories together', async () => {
    const result = await uow.run(async (tx) => {
      await parents.add(tx, 'a');
      await children.add(tx, 'a');
      return 'done';
    });
    expect(result).toBe('done');
    expect(await names('parents')).toEqual(['a']);
    expect(await names('children')).toEqual(['a']);
  });

  it('rolls every write back when the work throws, and rethrows the error unchanged', async () => {
    const failure = new Error('the third step failed');
    await expect(
      uow.run(async (tx) => {
        await parents.add(tx, 'b');
        await children.add(tx, 'b');
        throw failure;
      }),
    ).rejects.toBe(failure);
    // A database error half-way rolls back too.
    await expect(
      uow.run(async (tx) => {
        await children.add(tx, 'c');
        await parents.add(tx, 'a'); // duplicate key
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await names('parents')).toEqual(['a']);
    expect(await names('children')).toEqual(['a']);
  });

  it('hides uncommitted writes from other connections until the commit', async () => {
    let seenInside: unknown[] = [];
    await uow.run(async (tx) => {
      await parents.add(tx, 'd');
      seenInside = await names('parents'); // another pooled connection
    });
    expect(seenInside).toEqual(['a']);
    expect(await names('parents')).toEqual(['a', 'd']);
  });

  it('refuses a transaction used after it ended', async () => {
    let leaked: Transaction | undefined;
    await uow.run(async (tx) => {
      leaked = tx;
    });
    expect(() => transactionManager(leaked!)).toThrow(/this transaction has ended/);
  });

  it('runs migrations under an advisory lock: concurrent runners apply each migration once', async () => {
    class AddNotes1700000000000 {
      name = 'AddNotes1700000000000';
      async up(q: { query(sql: string): Promise<unknown> }) {
        await q.query(`CREATE TABLE notes (id int)`);
      }
      async down(q: { query(sql: string): Promise<unknown> }) {
        await q.query(`DROP TABLE notes`);
      }
    }
    const open = async () => {
      const d = createDataSource({ url: db.url, entities: [], migrations: [AddNotes1700000000000], applicationName: 'unit-of-work-test' });
      return d.initialize();
    };
    const [one, two] = await Promise.all([open(), open()]);
    try {
      const applied = await Promise.all([runMigrationsLocked(one, 42), runMigrationsLocked(two, 42)]);
      expect(applied.flat()).toEqual(['AddNotes1700000000000']);
    } finally {
      await one.destroy();
      await two.destroy();
    }
  });
});
