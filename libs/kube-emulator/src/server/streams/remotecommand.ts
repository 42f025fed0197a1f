/**
 * pods/exec and pods/attach: the options of the request (PodExecOptions / PodAttachOptions), the
 * channels a protocol gives (stdin, stdout, stderr, the error channel for the final Status), and
 * what runs between them: a built-in command (cluster/commands.ts) or the container's main
 * process (attach). The final Status is what the kubelet writes (remotecommand ServeExec).
 */
import { type JsonObject } from '@flotilla/apply';
import type { VirtualCluster } from '../../cluster/cluster';
import { runCommand, type ByteQueue } from '../../cluster/commands';
import { containerEnv, resolveContainer } from '../../cluster/kubelet';
import { ApiError, badRequest } from '../../api/errors';

/** remotecommand protocol names (k8s.io/apimachinery/pkg/util/remotecommand). */
export const STREAM_PROTOCOL_V5 = 'v5.channel.k8s.io';
export const STREAM_PROTOCOL_V4 = 'v4.channel.k8s.io';

export interface RemoteCommandOptions {
  kind: 'exec' | 'attach';
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  env: Record<string, string>;
}

/** What a streaming protocol offers the command. */
export interface ExecChannels {
  stdin?: ByteQueue;
  stdout(b: Buffer): void;
  stderr(b: Buffer): void;
  /** Writes the final Status to the error channel, then closes the connection. */
  finish(status: JsonObject): void;
  /** Aborted when the client leaves. */
  signal: AbortSignal;
}

const bool = (q: URLSearchParams, k: string): boolean => q.get(k) === 'true' || q.get(k) === '1';

/** Reads and checks the options as the API server does, before any upgrade (errors are plain Status answers). */
export function remoteCommandOptions(c: VirtualCluster, kind: 'exec' | 'attach', namespace: string, pod: string, q: URLSearchParams): RemoteCommandOptions {
  const podObj = c.api().get(c.resolve('', 'v1', 'pods')!, namespace, pod);
  const container = resolveContainer(podObj, q.get('container'));
  const o: RemoteCommandOptions = {
    kind,
    namespace,
    pod,
    container,
    command: q.getAll('command'),
    stdin: bool(q, 'stdin'),
    stdout: bool(q, 'stdout'),
    stderr: bool(q, 'stderr'),
    tty: bool(q, 'tty'),
    env: containerEnv(podObj, container),
  };
  if (!o.stdin && !o.stdout && !o.stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  if (kind === 'exec' && o.command.length === 0) {
    throw new ApiError(422, 'Invalid', `PodExecOptions "${pod}" is invalid: command: Required value`, {
      name: pod,
      kind: 'PodExecOptions',
      causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'command' }],
    });
  }
  if (o.tty && o.stderr) o.stderr = false; // with a TTY stderr is merged into stdout (the kubelet drops the stream)
  return o;
}

export const successStatus = (): JsonObject => ({ metadata: {}, status: 'Success' });

/** The Status of a non-zero exit, as remotecommand's errorDecoderV4 expects it (reason NonZeroExitCode, cause ExitCode). */
export function exitStatus(code: number, command: string[]): JsonObject {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** Runs the command (exec) or joins the main process (attach) over the channels, then finishes. */
export async function runRemoteCommand(c: VirtualCluster, o: RemoteCommandOptions, ch: ExecChannels): Promise<void> {
  // The command also ends when the pod goes away, like a container that is killed.
  const abort = new AbortController();
  const onAbort = (): void => abort.abort();
  ch.signal.addEventListener('abort', onAbort, { once: true });
  const stopWatch = c.kubelet.watchPod(o.namespace, o.pod, { gone: onAbort });
  const out = (b: Buffer | string): void => (o.stdout ? ch.stdout(Buffer.from(b)) : undefined);
  const err = (b: Buffer | string): void => (o.stderr ? ch.stderr(Buffer.from(b)) : o.tty ? out(b) : undefined);
  try {
    if (o.kind === 'attach') {
      await c.kubelet.attach(o.namespace, o.pod, o.container, { stdin: ch.stdin, stdout: (s) => out(s), signal: abort.signal });
      if (!ch.signal.aborted) ch.finish(successStatus());
      return;
    }
    const code = await runCommand(o.command, { stdin: ch.stdin, stdout: out, stderr: err, env: o.env, signal: abort.signal });
    if (!ch.signal.aborted) ch.finish(code === 0 ? successStatus() : exitStatus(code, o.command));
  } finally {
    stopWatch();
    ch.signal.removeEventListener('abort', onAbort);
  }
}
