import { z } from 'zod';
import { configParts } from '@flotilla/config';
import { streamLimitsConfigShape } from './stream-limits-config';

/**
 * What the gateway's import routes need. No import policy: provider-import alone reads it and
 * runs every check that depends on it or reaches a member (ADR 0027); the gateway only parses
 * offline and forwards.
 */
export const importEdgeConfigShape = {
  /** Base URL clients use to reach this gateway, written into the kubeconfigs it hands out. */
  FLOTILLA_EXTERNAL_URL: z.url('must be a URL, e.g. https://flotilla.example.com').optional(),
  /** provider-import's gRPC address: the kubeconfig guard, validation and rotation run there. */
  PROVIDER_IMPORT_GRPC_URL: configParts.grpcTarget.default('127.0.0.1:50052'),
  /**
   * Deadline of each call to provider-import, in ms. Keep it a little above provider-import's
   * IMPORT_CONNECT_TIMEOUT_MS (default 10000), so that a slow member is reported by its check
   * (ServerAnswers ... within N ms), not as a timeout of the call.
   */
  IMPORT_CALL_DEADLINE_MS: z.coerce.number().int().min(1000, 'must be at least 1000').max(600_000, 'must be at most 600000').default(15_000),
  /**
   * The internal token, presented to provider-import. Optional here so that a gateway without it
   * still serves everything else; validation, rotation and kubeconfigs that need the import
   * policy then answer 500 naming this variable.
   */
  FLOTILLA_INTERNAL_TOKEN: configParts.internalToken.optional(),
  /** Per-caller limits, idle end and backpressure bound of watches and job streams. */
  ...streamLimitsConfigShape,
};

export type ImportEdgeConfig = z.infer<z.ZodObject<typeof importEdgeConfigShape>>;
