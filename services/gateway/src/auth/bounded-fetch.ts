/**
 * GET of a small JSON document from an identity provider, bounded in time and size: the
 * discovery document and the JWKS are read from outside, so neither a slow issuer nor a huge
 * answer may hold a request or the gateway's memory. Redirects are refused (an issuer's endpoints
 * are stated in its discovery document, never reached by redirection).
 */
export const IDP_FETCH_TIMEOUT_MS = 5000;
export const IDP_MAX_BYTES = 256 * 1024;

export async function boundedFetch(url: string | URL, init: { signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<Response> {
  const signal = init.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(IDP_FETCH_TIMEOUT_MS)]) : AbortSignal.timeout(IDP_FETCH_TIMEOUT_MS);
  const response = await fetch(url, { method: 'GET', redirect: 'manual', signal, headers: { accept: 'application/json', ...init.headers } });
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > IDP_MAX_BYTES) {
    await response.body?.cancel();
    throw new Error(`the answer of ${new URL(url).origin} is larger than ${IDP_MAX_BYTES} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > IDP_MAX_BYTES) {
        await reader.cancel();
        throw new Error(`the answer of ${new URL(url).origin} is larger than ${IDP_MAX_BYTES} bytes`);
      }
      chunks.push(value);
    }
  }
  return new Response(Buffer.concat(chunks), { status: response.status, headers: { 'content-type': response.headers.get('content-type') ?? 'application/json' } });
}
