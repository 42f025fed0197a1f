/**
 * An emulated kubelet, enough for the streaming subresources: new Pods are bound to the first
 * node and reported Running (kubectl port-forward refuses a Pod that is not), each container
 * has a log that tests append to (and `logs -f` follows), `attach` joins the container's main
 * process (a `cat`: what attachers write comes back as its output and goes to its log), and
 * each pod port forwards to a TCP target a test registers, or echoes.
 */
import { isObject, type JsonObject, obj, str } from '@flotilla/apply';
import type { ApiServer } from '../api/apiserver';
import { badRequest } from '../api/errors';
import type { ResourceDef } from '../api/resources';
import type { ByteQueue } from './commands';

export interface LogLine {
  time: Date;
  text: string;
}

export interface PortTarget {
  host: string;
  port: number;
}

export interface KubeletHost {
  existingApi(): ApiServer | undefined;
  podDef(): ResourceDef;
  nodeName(): string | undefined;
}

/** Lines kept per container; older ones are dropped like a rotated log. */
export const MAX_LOG_LINES = 10_000;

interface PodRuntime {
  logs: Map<string, LogLine[]>;
  /** Partial lines written by attachers, per container, until their newline. */
  partial: Map<string, string>;
  listeners: Set<(container: string, line: LogLine) => void>;
  gone: Set<() => void>;
}

const key = (ns: string, pod: string): string => `${ns}/${pod}`;

/** The containers of a Pod, by name. */
export function containerNames(pod: JsonObject): string[] {
  const cs = obj(pod.spec)?.containers;
  return Array.isArray(cs) ? cs.map((c) => str(obj(c)?.name) ?? '').filter((n) => n !== '') : [];
}

/** The container a request means: the named one, or the only one; otherwise the kubelet's 400. */
export function resolveContainer(pod: JsonObject, requested: string | null | undefined): string {
  const podName = str(obj(pod.metadata)?.name) ?? '';
  const names = containerNames(pod);
  if (requested) {
    if (!names.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${podName}`);
    return requested;
  }
  if (names.length === 1) return names[0];
  throw badRequest(`a container name must be specified for pod ${podName}, choose one of: [${names.join(' ')}]`);
}

/** The environment `env` prints: the container's literal env values plus what a runtime adds. */
export function containerEnv(pod: JsonObject, container: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOSTNAME: str(obj(pod.metadata)?.name) ?? '',
  };
  const spec = (Array.isArray(obj(pod.spec)?.containers) ? (obj(pod.spec)?.containers as JsonObject[]) : []).find((c) => isObject(c) && c.name === container);
  for (const e of Array.isArray(spec?.env) ? spec.env : []) {
    const name = str(obj(e)?.name);
    const value = str(obj(e)?.value);
    if (name && value !== undefined) env[name] = value;
  }
  env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
  env.KUBERNETES_SERVICE_PORT = '443';
  env.HOME = '/root';
  return env;
}

export class Kubelet {
  private readonly pods = new Map<string, PodRuntime>();
  private readonly targets = new Map<string, PortTarget>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly host: KubeletHost) {}

  afterWrite(def: ResourceDef, type: 'ADDED' | 'MODIFIED' | 'DELETED', o: JsonObject): void {
    if (def.group !== '' || def.resource !== 'pods') return;
    const m = obj(o.metadata) ?? {};
    const ns = str(m.namespace) ?? '';
    const name = str(m.name) ?? '';
    if (type === 'ADDED') {
      const uid = str(m.uid) ?? '';
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.startPod(ns, name, uid);
      }, 1);
      t.unref();
      this.timers.add(t);
    } else if (type === 'DELETED') {
      const rt = this.pods.get(key(ns, name));
      this.pods.delete(key(ns, name));
      for (const fn of rt?.gone ?? []) fn();
    }
  }

  /** Binds the Pod to the first node (as the scheduler would), then reports it Running. */
  private startPod(ns: string, name: string, uid: string): void {
    const api = this.host.existingApi();
    const def = this.host.podDef();
    let cur = api?.find(def, ns, name);
    if (!api || !cur || obj(cur.metadata)?.uid !== uid || obj(cur.metadata)?.deletionTimestamp) return;
    if (str(obj(cur.status)?.phase) !== 'Pending') return;
    const node = this.host.nodeName();
    const spec = obj(cur.spec) ?? {};
    if (!spec.nodeName && node) cur = api.systemWrite(def, ns, { ...cur, spec: { ...spec, nodeName: node } }, 'kube-scheduler');
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const cond = (type: string): JsonObject => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now });
    const specContainers = Array.isArray(obj(cur.spec)?.containers) ? (obj(cur.spec)?.containers as JsonObject[]) : [];
    const ip = `10.244.0.${(parseInt(uid.slice(0, 2), 16) % 250) + 2}`;
    const status: JsonObject = {
      phase: 'Running',
      conditions: [cond('PodReadyToStartContainers'), cond('Initialized'), cond('Ready'), cond('ContainersReady'), cond('PodScheduled')],
      hostIP: '10.0.0.10',
      hostIPs: [{ ip: '10.0.0.10' }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: now,
      containerStatuses: specContainers.map((c) => ({
        name: str(c.name) ?? '',
        state: { running: { startedAt: now } },
        lastState: {},
        ready: true,
        restartCount: 0,
        image: str(c.image) ?? '',
        imageID: '',
        containerID: `containerd://${uid.replace(/-/g, '')}${uid.replace(/-/g, '')}`.slice(0, 77),
        started: true,
      })),
      qosClass: str(obj(cur.status)?.qosClass) ?? 'BestEffort',
    };
    api.systemWrite(def, ns, { ...cur, status }, 'kubelet', 'status');
  }

  private runtime(ns: string, pod: string): PodRuntime {
    let rt = this.pods.get(key(ns, pod));
    if (!rt) {
      rt = { logs: new Map(), partial: new Map(), listeners: new Set(), gone: new Set() };
      this.pods.set(key(ns, pod), rt);
    }
    return rt;
  }

  /** Appends text to a container's log (one line per `\n`-separated part); followers get it at once. */
  appendLog(ns: string, pod: string, container: string, text: string, time = new Date()): void {
    const rt = this.runtime(ns, pod);
    const lines = rt.logs.get(container) ?? [];
    rt.logs.set(container, lines);
    for (const part of text.replace(/\n$/, '').split('\n')) {
      const line = { time, text: part };
      lines.push(line);
      if (lines.length > MAX_LOG_LINES) lines.shift();
      for (const l of rt.listeners) l(container, line);
    }
  }

  logs(ns: string, pod: string, container: string): readonly LogLine[] {
    return this.pods.get(key(ns, pod))?.logs.get(container) ?? [];
  }

  /** Calls `line` for each new log line of the pod and `gone` once when it is deleted; returns the unsubscriber. */
  watchPod(ns: string, pod: string, on: { line?: (container: string, line: LogLine) => void; gone: () => void }): () => void {
    const rt = this.runtime(ns, pod);
    const line = on.line;
    if (line) rt.listeners.add(line);
    rt.gone.add(on.gone);
    return () => {
      if (line) rt.listeners.delete(line);
      rt.gone.delete(on.gone);
    };
  }

  /**
   * Attaches to a container's main process until stdin ends, the pod is deleted or the signal
   * fires. The process is a `cat`: stdin comes back as its output, to every attacher and the log.
   */
  attach(ns: string, pod: string, container: string, io: { stdin?: ByteQueue; stdout: (b: string) => void; signal: AbortSignal }): Promise<void> {
    return new Promise((resolve) => {
      const rt = this.runtime(ns, pod);
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        unsubscribe();
        resolve();
      };
      const unsubscribe = this.watchPod(ns, pod, { line: (c, l) => c === container && io.stdout(`${l.text}\n`), gone: finish });
      io.signal.addEventListener('abort', finish, { once: true });
      const stdin = io.stdin;
      if (!stdin) return;
      void (async () => {
        for (let b = await stdin.read(); b && !done; b = await stdin.read()) {
          const text = (rt.partial.get(container) ?? '') + b.toString('utf8');
          const cut = text.lastIndexOf('\n');
          rt.partial.set(container, cut >= 0 ? text.slice(cut + 1) : text);
          if (cut >= 0) this.appendLog(ns, pod, container, text.slice(0, cut + 1));
        }
        const rest = rt.partial.get(container);
        rt.partial.delete(container);
        if (rest && !done) this.appendLog(ns, pod, container, rest);
        finish();
      })();
    });
  }

  /** Where connections to a pod port go (undefined: the built-in echo). */
  portTarget(ns: string, pod: string, port: number): PortTarget | undefined {
    return this.targets.get(`${key(ns, pod)}:${port}`);
  }

  setPortTarget(ns: string, pod: string, port: number, target: PortTarget | undefined): void {
    if (target) this.targets.set(`${key(ns, pod)}:${port}`, target);
    else this.targets.delete(`${key(ns, pod)}:${port}`);
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const rt of this.pods.values()) for (const fn of rt.gone) fn();
    this.pods.clear();
  }
}
