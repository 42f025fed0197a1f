/**
 * A probe worker process (ADR 0040): it holds the probers (TLS contexts, keep-alive connections) of
 * the clusters the replica's main process gave it and runs their probes. The main process keeps
 * everything else: scheduling, hysteresis, status writes, events and membership. Credentials
 * arrive over the IPC channel (never from a file or an address an input names) and stay in this
 * process's memory; its environment holds none of the replica's secrets.
 */
import { FlotillaError, type Cluster } from '@flotilla/domain';
import { ClusterProber, HandshakeGate, MemberAddressPolicy, memberProber } from '@flotilla/kube';
import { LoopStallMeter } from '../loop-stall';
import { replicaFault } from '../probe-cycle';
import type { FromWorker, ProbeWorkerInit, ToWorker, WorkerError } from './worker-protocol';

/** How often the handshake gate's counts are sent to the main process (for flotilla_probe_handshakes). */
const STATS_MS = 1000;

function main(): void {
  const sendRaw = process.send?.bind(process);
  if (!sendRaw) throw new Error('probe-worker runs only as a child process with an IPC channel');
  const send = (m: FromWorker) => {
    if (process.connected) sendRaw(m);
  };
  // The replica is gone (stopped, or killed without a word): nothing here may outlive it.
  process.on('disconnect', () => process.exit(0));
  const probers = new Map<number, ClusterProber>();
  const stall = new LoopStallMeter();
  let init: ProbeWorkerInit | undefined;
  let policy: MemberAddressPolicy | undefined;
  let handshakes: HandshakeGate | undefined;

  process.on('message', (m: ToWorker) => {
    switch (m.op) {
      case 'init':
        init = m.init;
        policy = new MemberAddressPolicy(init.policy);
        handshakes = new HandshakeGate(init.handshakeConcurrency);
        stall.start();
        setInterval(() => send({ op: 'stats', handshakesInProgress: handshakes!.inProgress, handshakesQueued: handshakes!.queued }), STATS_MS).unref();
        send({ op: 'ready' });
        return;
      case 'open':
        try {
          if (!init || !policy || !handshakes) throw new Error('probe worker not initialised');
          probers.get(m.id)?.close();
          const prober = memberProber(m.target as unknown as Cluster, m.credentials, policy, {
            timeoutMs: init.timeoutMs,
            allowProxyUrl: init.allowProxyUrl,
            inventoryIntervalMs: init.inventoryIntervalMs,
            handshakes,
          });
          probers.set(m.id, prober);
          send({ op: 'opened', id: m.id, ...(prober.clientCertificateNotAfter ? { certNotAfter: prober.clientCertificateNotAfter.getTime() } : {}) });
        } catch (error) {
          send({ op: 'open-failed', id: m.id, error: toWorkerError(error) });
        }
        return;
      case 'probe': {
        const prober = probers.get(m.id);
        if (!prober) {
          send({ op: 'result', seq: m.seq, observation: replicaFault(), stalledMs: 0 });
          return;
        }
        void prober.probe(m.expectedUid).then(
          (observation) => send({ op: 'result', seq: m.seq, observation, stalledMs: stall.stalledSince(performance.now() - observation.durationMs) }),
          () => send({ op: 'result', seq: m.seq, observation: replicaFault(), stalledMs: 0 }),
        );
        return;
      }
      case 'close':
        probers.get(m.id)?.close();
        probers.delete(m.id);
        return;
    }
  });
}

/** The error's reason, words and details (no stack: it names files, and the main process logs only safe messages). */
function toWorkerError(error: unknown): WorkerError {
  if (error instanceof FlotillaError) return { message: error.message, reason: error.reason, details: error.details };
  return { message: error instanceof Error ? error.message : String(error) };
}

main();
