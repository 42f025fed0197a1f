/** Bounds applied to every YAML or JSON text Flotilla reads from outside. */
export interface ParseLimits {
  /** Largest accepted text, in bytes (UTF-8). */
  maxBytes: number;
  /** Deepest accepted nesting of arrays/objects (flow or block). */
  maxDepth: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxBytes: 3 * 1024 * 1024, maxDepth: 64 };

export type ParseLimitKind = 'size' | 'depth' | 'syntax' | 'aliases' | 'documents';

/** A text refused by a bounded parser: `what` names the input, `kind` the limit or fault. */
export class ParseLimitError extends Error {
  constructor(
    readonly kind: ParseLimitKind,
    readonly what: string,
    message: string,
  ) {
    super(message);
    this.name = 'ParseLimitError';
  }
}
