/** Small readers of watch and list answers (metadata of PartialObjectMetadata, strings) and the watch's error. */

/** A watch or list that failed; `status` when the member answered one. */
export class WatchFailure extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export function metaOf(o: unknown): Record<string, unknown> {
  const m = (o as { metadata?: unknown } | undefined)?.metadata;
  return m && typeof m === 'object' ? (m as Record<string, unknown>) : {};
}

export function stringAt(o: Record<string, unknown> | undefined, key: string): string | undefined {
  const v = o?.[key];
  return typeof v === 'string' ? v : undefined;
}
