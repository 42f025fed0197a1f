/**
 * pods/log (PodLogOptions): the container's log as text, with `tailLines`, `sinceSeconds`,
 * `sinceTime`, `timestamps`, `limitBytes`, and `follow`, which keeps the answer open and streams
 * lines as they are appended until the pod is deleted or the client leaves.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { VirtualCluster } from '../../cluster/cluster';
import { resolveContainer, type LogLine } from '../../cluster/kubelet';
import { ApiError, badRequest } from '../../api/errors';

/** Go's time.RFC3339Nano: fractional seconds without trailing zeros. */
export function rfc3339Nano(d: Date): string {
  return d.toISOString().replace(/\.(\d+)Z$/, (_, f: string) => (/^0+$/.test(f) ? 'Z' : `.${f.replace(/0+$/, '')}Z`));
}

function nonNegativeInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^\d+$/.test(v)) throw badRequest(`${name}: Invalid value: ${JSON.stringify(v)}: must be a non-negative integer`);
  return Number(v);
}

export function serveLog(c: VirtualCluster, req: IncomingMessage, res: ServerResponse, namespace: string, name: string, q: URLSearchParams): void {
  const pod = c.api().get(c.resolve('', 'v1', 'pods')!, namespace, name);
  const container = resolveContainer(pod, q.get('container'));
  if (q.get('previous') === 'true') throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
  const tail = nonNegativeInt(q, 'tailLines');
  const sinceSeconds = nonNegativeInt(q, 'sinceSeconds');
  const limitBytes = nonNegativeInt(q, 'limitBytes');
  const sinceTimeText = q.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTimeText) throw new ApiError(422, 'Invalid', 'PodLogOptions is invalid: at most one of `sinceTime` or `sinceSeconds` may be specified', { kind: 'PodLogOptions' });
  const sinceTime = sinceTimeText ? new Date(sinceTimeText) : sinceSeconds !== undefined ? new Date(Date.now() - sinceSeconds * 1000) : undefined;
  if (sinceTime && Number.isNaN(sinceTime.getTime())) throw badRequest(`sinceTime: Invalid value: ${JSON.stringify(sinceTimeText)}: must be an RFC3339 time`);
  const timestamps = q.get('timestamps') === 'true';
  const follow = q.get('follow') === 'true';

  let budget = limitBytes ?? Infinity;
  const format = (l: LogLine): string => `${timestamps ? `${rfc3339Nano(l.time)} ` : ''}${l.text}\n`;
  /** Writes a line within limitBytes; false once the limit is reached (the answer then ends). */
  const emit = (l: LogLine): boolean => {
    if (budget <= 0) return false;
    const b = Buffer.from(format(l));
    const part = b.length > budget ? b.subarray(0, budget) : b;
    budget -= part.length;
    res.write(part);
    return budget > 0;
  };

  let lines = c.kubelet.logs(namespace, name, container).filter((l) => !sinceTime || l.time >= sinceTime);
  if (tail !== undefined) lines = tail === 0 ? [] : lines.slice(-tail);
  res.writeHead(200, { 'Audit-Id': randomUUID(), 'Cache-Control': 'no-cache, private', 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  let open = true;
  for (const l of lines) if (!(open = emit(l))) break;
  if (!follow || !open) return void res.end();

  const stop = c.kubelet.watchPod(namespace, name, {
    line: (ctr, l) => {
      if (ctr === container && !emit(l)) done();
    },
    gone: () => done(),
  });
  function done(): void {
    stop();
    if (!res.writableEnded) res.end();
  }
  req.on('close', done);
  res.on('close', done);
}
