/**
 * Server-side printing (meta.k8s.io/v1 Table), as kube-apiserver answers `kubectl get`: column
 * definitions, one row of cells per object, and the object itself in each row as
 * PartialObjectMetadata (the default), in full, or not at all (`?includeObject=`). Pure: the
 * caller passes the columns of its kind and the clock.
 */

export type TableCell = string | number | boolean | null;

/** A JSON object as the API shows it. */
export type TableObject = Record<string, unknown>;

/** One column of a kind's table: its definition and how a cell is computed from an object. */
export interface TableColumn {
  name: string;
  /** OpenAPI type of the cells: 'string' (default), 'integer', 'number', 'boolean' or 'date'. */
  type?: string;
  /** 'name' for the Name column, '' otherwise. */
  format?: string;
  description: string;
  /** 0: always shown; 1: shown with `-o wide` only. */
  priority?: number;
  cell: (object: TableObject, nowMs: number) => TableCell;
}

/** A column as the Table carries it (metav1.TableColumnDefinition). */
export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: TableCell[];
  object?: TableObject;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  /** null in the watch events after the first (as kube-apiserver sends them). */
  columnDefinitions: TableColumnDefinition[] | null;
  rows: TableRow[];
}

/** What a Table row carries of its object (`?includeObject=`); kube's default is Metadata. */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

export const TABLE_NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: http://kubernetes.io/docs/user-guide/identifiers#names';
export const TABLE_AGE_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

const isObject = (v: unknown): v is TableObject => typeof v === 'object' && v !== null && !Array.isArray(v);
export const tableMetadataOf = (o: TableObject): TableObject => (isObject(o.metadata) ? o.metadata : {});

/** kube's duration.HumanDuration: how `kubectl get` shows an age ("10m", "2m32s", "3d4h"). */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  const y = Math.floor(h / 24 / 365);
  if (h < 24 * 365 * 8) return `${y}y${Math.floor(h / 24) % 365}d`;
  return `${y}y`;
}

/** The age of a timestamp as kubectl shows it ('<unknown>' without one). */
export function ageOf(timestamp: unknown, nowMs: number): string {
  if (typeof timestamp !== 'string' || timestamp === '') return '<unknown>';
  const at = Date.parse(timestamp);
  return Number.isNaN(at) ? '<unknown>' : humanDuration(nowMs - at);
}

/** The Name column every kind's table starts with. */
export const NAME_COLUMN: TableColumn = {
  name: 'Name',
  format: 'name',
  description: TABLE_NAME_DESCRIPTION,
  cell: (o) => {
    const name = tableMetadataOf(o).name;
    return typeof name === 'string' ? name : '';
  },
};

/** The Age column: type 'string' as the core kinds have it, 'date' as custom resources do. */
export function ageColumn(type: 'string' | 'date' = 'string'): TableColumn {
  return { name: 'Age', type, description: TABLE_AGE_DESCRIPTION, cell: (o, now) => ageOf(tableMetadataOf(o).creationTimestamp, now) };
}

/** A plain column (type string unless said, priority 0 unless said). */
export function tableColumn(name: string, description: string, cell: TableColumn['cell'], options: { priority?: number; type?: string } = {}): TableColumn {
  return { name, description, cell, ...options };
}

export function columnDefinitions(columns: readonly TableColumn[]): TableColumnDefinition[] {
  return columns.map((c) => ({ name: c.name, type: c.type ?? 'string', format: c.format ?? '', description: c.description, priority: c.priority ?? 0 }));
}

/** An object as meta.k8s.io/v1 PartialObjectMetadata (what a row carries by default). */
export function partialObjectMetadata(o: TableObject): TableObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: tableMetadataOf(o) };
}

/** One row: the cells, and the object as `include` asks. A cell that fails to compute is shown empty, never an error. */
export function tableRow(columns: readonly TableColumn[], o: TableObject, include: IncludeObject, nowMs: number): TableRow {
  const cells = columns.map((c) => {
    try {
      return c.cell(o, nowMs);
    } catch {
      return '';
    }
  });
  if (include === 'None') return { cells };
  return { cells, object: include === 'Object' ? o : partialObjectMetadata(o) };
}

export interface ToTableOptions {
  include?: IncludeObject;
  /** false: columnDefinitions is null (watch events after the first). */
  withColumns?: boolean;
  nowMs?: number;
}

/** The Table of some objects of one kind; `listMeta` is the list's metadata (or the object's resourceVersion for one). */
export function toTable(columns: readonly TableColumn[], items: readonly TableObject[], listMeta: Table['metadata'], options: ToTableOptions = {}): Table {
  const now = options.nowMs ?? Date.now();
  const include = options.include ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: options.withColumns === false ? null : columnDefinitions(columns),
    rows: items.map((o) => tableRow(columns, o, include, now)),
  };
}
