import { z } from 'zod';

/** Which requests are recorded: none, writes only, or every request (reads too). */
export const AUDIT_LEVELS = ['None', 'Writes', 'All'] as const;
export type AuditLevel = (typeof AUDIT_LEVELS)[number];

/** The gateway's audit settings (docs/access.md, "Audit"). Merged into the gateway's config shape. */
export const auditConfigShape = {
  FLOTILLA_AUDIT_LEVEL: z.enum(AUDIT_LEVELS, { error: 'must be None, Writes or All' }).default('All'),
  /**
   * Most events held in memory while they wait to be stored. When full, a write request waits for
   * room (writes are never dropped) and a read's record is dropped and counted
   * (flotilla_audit_dropped_total{reason="buffer_full"}).
   */
  FLOTILLA_AUDIT_BUFFER: z.coerce.number().int().min(100, 'must be at least 100').max(1_000_000, 'must be at most 1000000').default(10_000),
  /**
   * Where events are also written as JSON lines: `stdout`, or a file path (opened once at start,
   * appended to, mode 0600). Empty: nowhere but the registry.
   */
  FLOTILLA_AUDIT_SINK: z.string().max(4096, 'must be at most 4096 characters').optional(),
};

export type AuditConfig = z.infer<z.ZodObject<typeof auditConfigShape>>;
