import { z } from 'zod';
import { memberAddressConfigShape } from '@flotilla/config';

/**
 * What the API proxy reads (spread into the gateway's config shape). The proxy connects to
 * members, so it reads the one member address policy every such process reads.
 */
export const proxyConfigShape = {
  ...memberAddressConfigShape,
  /** Largest request body forwarded to a member (413 above it). Default 3 MiB, like kube-apiserver's request limit. */
  FLOTILLA_PROXY_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(256 * 1024 * 1024).default(3 * 1024 * 1024),
  /**
   * Idle bound of ordinary proxied requests, in ms: a caller trickling its body, a member silent
   * while answering, or an upgrade not yet switched, cut off after this long. Watches, logs -f and
   * established exec/port-forward sessions have no such bound.
   */
  FLOTILLA_PROXY_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  /** The HTTP server's bound on receiving a request's headers (slow-loris), in ms. Node's default is 60 s. */
  FLOTILLA_PROXY_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1000).max(120_000).default(20_000),
  /** Pooled keep-alive connections per member for ordinary requests. */
  FLOTILLA_PROXY_MAX_SOCKETS_PER_MEMBER: z.coerce.number().int().min(1).max(1024).default(64),
};

export type ProxyConfig = z.infer<z.ZodObject<typeof proxyConfigShape>>;
