import { z } from 'zod';

/** Thrown when a job payload breaks its schema: names each bad field and what it must be. */
export class InvalidJobPayloadError extends Error {
  constructor(
    readonly job: string,
    readonly problems: string[],
  ) {
    super(`invalid payload for job ${job}: ${problems.join('; ')}`);
    this.name = 'InvalidJobPayloadError';
  }
}

export function parsePayload<P>(job: string, schema: z.ZodType<P>, data: unknown): P {
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new InvalidJobPayloadError(
      job,
      result.error.issues.map((i) => {
        const field = i.path.length > 0 ? i.path.join('.') : '(payload)';
        if (i.code === 'unrecognized_keys') return `${field}: unknown field(s) ${i.keys.join(', ')} are not allowed`;
        return `${field}: ${i.message}`;
      }),
    );
  }
  return result.data;
}
