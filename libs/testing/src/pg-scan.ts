import type { Client } from 'pg';

/**
 * Every column of every table in the database that holds `needle`: compared as text (text, json,
 * jsonb, arrays and the rest) and, for bytea, as its UTF-8 bytes. What a pg_dump would show,
 * without needing a pg_dump of the server's version. `tables` lists the tables scanned.
 */
export async function columnsHolding(db: Client, needle: string): Promise<{ tables: string[]; hits: string[] }> {
  const { rows: columns } = await db.query<{ table_schema: string; table_name: string; column_name: string; data_type: string }>(
    `SELECT c.table_schema, c.table_name, c.column_name, c.data_type
       FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE t.table_type = 'BASE TABLE' AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
      ORDER BY 1, 2, 3`,
  );
  const hits: string[] = [];
  for (const c of columns) {
    const column = db.escapeIdentifier(c.column_name);
    const holds = c.data_type === 'bytea' ? `position(convert_to($1, 'UTF8') in ${column}) > 0` : `strpos(${column}::text, $1) > 0`;
    const { rows } = await db.query<{ hit: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${db.escapeIdentifier(c.table_schema)}.${db.escapeIdentifier(c.table_name)} WHERE ${holds}) AS hit`,
      [needle],
    );
    if (rows[0]!.hit) hits.push(`${c.table_name}.${c.column_name}`);
  }
  return { tables: [...new Set(columns.map((c) => c.table_name))], hits };
}
