import { z } from 'zod';
import { importPolicyConfigShape } from '@flotilla/config';

/**
 * What the gateway needs to refuse hostile kubeconfigs synchronously and to run the validation
 * endpoint: the import policy provider-import applies too (docs/import.md), and its public URL.
 */
export const importEdgeConfigShape = {
  ...importPolicyConfigShape,
  /** Base URL clients use to reach this gateway, written into the kubeconfigs it hands out. */
  FLOTILLA_EXTERNAL_URL: z.url('must be a URL, e.g. https://flotilla.example.com').optional(),
};

export type ImportEdgeConfig = z.infer<z.ZodObject<typeof importEdgeConfigShape>>;
