/** Per-kind behaviour: defaulting, validation and the create/update strategies of the real server. */
import { ensureObject, isObject, type JsonObject, type JsonValue, obj, str } from '@flotilla/apply';
import type { FieldError } from './errors';
import type { ResourceDef } from './resources';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

function kindKey(def: ResourceDef): string {
  return `${def.group}/${def.kind}`;
}

// ---- defaulting --------------------------------------------------------------------------------
function defaultContainer(c: JsonValue): void {
  if (!isObject(c)) return;
  const ports = c.ports;
  if (Array.isArray(ports)) for (const p of ports) if (isObject(p) && p.protocol === undefined) p.protocol = 'TCP';
  if (c.resources === undefined) c.resources = {};
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  if (c.imagePullPolicy === undefined) {
    const image = str(c.image) ?? '';
    const lastPart = image.split('/').pop() ?? '';
    const tag = lastPart.includes('@') ? 'digest' : lastPart.includes(':') ? lastPart.split(':').pop() : '';
    c.imagePullPolicy = tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
  }
  const env = c.env;
  if (Array.isArray(env)) for (const e of env) if (isObject(e) && isObject(e.valueFrom) && isObject(e.valueFrom.fieldRef)) e.valueFrom.fieldRef.apiVersion ??= 'v1';
}

export function defaultPodSpec(spec: JsonObject, isPod: boolean): void {
  for (const list of ['containers', 'initContainers']) {
    const cs = spec[list];
    if (Array.isArray(cs)) cs.forEach(defaultContainer);
  }
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  if (isPod) {
    spec.serviceAccountName ??= 'default';
    spec.serviceAccount ??= spec.serviceAccountName;
    spec.enableServiceLinks ??= true;
    spec.preemptionPolicy ??= 'PreemptLowerPriority';
    spec.priority ??= 0;
    spec.tolerations ??= [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ];
  }
  const vols = spec.volumes;
  if (Array.isArray(vols))
    for (const v of vols) {
      if (!isObject(v)) continue;
      for (const src of ['secret', 'configMap']) {
        const s = v[src];
        if (isObject(s)) s.defaultMode ??= 420;
      }
    }
}

function defaultTemplate(spec: JsonObject): void {
  const tmpl = ensureObject(spec, 'template');
  const meta = ensureObject(tmpl, 'metadata');
  if (meta.creationTimestamp === undefined) meta.creationTimestamp = null;
  defaultPodSpec(ensureObject(tmpl, 'spec'), false);
}

export function applyDefaults(def: ResourceDef, o: JsonObject): void {
  const meta = ensureObject(o, 'metadata');
  switch (kindKey(def)) {
    case '/Namespace': {
      const labels = ensureObject(meta, 'labels');
      if (typeof meta.name === 'string') labels['kubernetes.io/metadata.name'] = meta.name;
      break;
    }
    case '/Secret':
      o.type ??= 'Opaque';
      if (isObject(o.stringData)) {
        const data = ensureObject(o, 'data');
        for (const [k, v] of Object.entries(o.stringData)) data[k] = Buffer.from(String(v)).toString('base64');
        delete o.stringData;
      }
      break;
    case '/Pod':
      defaultPodSpec(ensureObject(o, 'spec'), true);
      break;
    case '/Service': {
      const spec = ensureObject(o, 'spec');
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      const ports = spec.ports;
      if (Array.isArray(ports))
        for (const p of ports)
          if (isObject(p)) {
            p.protocol ??= 'TCP';
            p.targetPort ??= p.port ?? null;
          }
      if (spec.type !== 'ExternalName') {
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
        spec.internalTrafficPolicy ??= 'Cluster';
      }
      break;
    }
    case 'apps/Deployment': {
      const spec = ensureObject(o, 'spec');
      spec.replicas ??= 1;
      const strategy = ensureObject(spec, 'strategy');
      strategy.type ??= 'RollingUpdate';
      if (strategy.type === 'RollingUpdate') {
        const ru = ensureObject(strategy, 'rollingUpdate');
        ru.maxUnavailable ??= '25%';
        ru.maxSurge ??= '25%';
      }
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      defaultTemplate(spec);
      break;
    }
    case 'apps/StatefulSet': {
      const spec = ensureObject(o, 'spec');
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= 'OrderedReady';
      const us = ensureObject(spec, 'updateStrategy');
      us.type ??= 'RollingUpdate';
      if (us.type === 'RollingUpdate') ensureObject(us, 'rollingUpdate').partition ??= 0;
      spec.revisionHistoryLimit ??= 10;
      const ret = ensureObject(spec, 'persistentVolumeClaimRetentionPolicy');
      ret.whenDeleted ??= 'Retain';
      ret.whenScaled ??= 'Retain';
      defaultTemplate(spec);
      break;
    }
    case 'apps/DaemonSet': {
      const spec = ensureObject(o, 'spec');
      const us = ensureObject(spec, 'updateStrategy');
      us.type ??= 'RollingUpdate';
      if (us.type === 'RollingUpdate') {
        const ru = ensureObject(us, 'rollingUpdate');
        ru.maxUnavailable ??= 1;
        ru.maxSurge ??= 0;
      }
      spec.revisionHistoryLimit ??= 10;
      defaultTemplate(spec);
      break;
    }
    case 'batch/Job': {
      const spec = ensureObject(o, 'spec');
      if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
      spec.parallelism ??= 1;
      spec.backoffLimit ??= 6;
      spec.completionMode ??= 'NonIndexed';
      spec.suspend ??= false;
      defaultTemplate(spec);
      break;
    }
    case 'apiextensions.k8s.io/CustomResourceDefinition': {
      const spec = ensureObject(o, 'spec');
      ensureObject(spec, 'conversion').strategy ??= 'None';
      break;
    }
    default:
      break;
  }
}

// ---- strategies ----------------------------------------------------------------------------------
let clusterIpCounter = 0;
function nextClusterIP(): string {
  clusterIpCounter = (clusterIpCounter + 1) % 60000;
  const n = clusterIpCounter + 10;
  return `10.96.${Math.floor(n / 250)}.${(n % 250) + 1}`;
}

/** Status and system fields a create sets after managedFields are computed (PrepareForCreate). */
export function prepareForCreate(def: ResourceDef, o: JsonObject): void {
  const meta = ensureObject(o, 'metadata');
  switch (kindKey(def)) {
    case '/Namespace':
      o.spec = { finalizers: ['kubernetes'] };
      o.status = { phase: 'Active' };
      return;
    case '/Pod':
      o.status = { phase: 'Pending', qosClass: 'BestEffort' };
      return;
    case '/Service': {
      const spec = ensureObject(o, 'spec');
      if (spec.type !== 'ExternalName' && spec.clusterIP === undefined) {
        spec.clusterIP = nextClusterIP();
        spec.clusterIPs = [spec.clusterIP];
      }
      o.status = { loadBalancer: {} };
      return;
    }
    case 'networking.k8s.io/Ingress':
      o.status = { loadBalancer: {} };
      return;
    case 'batch/Job': {
      const spec = ensureObject(o, 'spec');
      const uid = str(meta.uid) ?? '';
      const name = str(meta.name) ?? '';
      if (spec.manualSelector !== true && spec.selector === undefined) {
        spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
        const tmeta = ensureObject(ensureObject(spec, 'template'), 'metadata');
        const labels = ensureObject(tmeta, 'labels');
        labels['batch.kubernetes.io/controller-uid'] = uid;
        labels['batch.kubernetes.io/job-name'] = name;
        labels['controller-uid'] = uid;
        labels['job-name'] = name;
      }
      o.status = {};
      return;
    }
    case 'apiextensions.k8s.io/CustomResourceDefinition': {
      const versions = obj(o.spec)?.versions;
      const stored = Array.isArray(versions) ? versions.filter((v) => isObject(v) && v.storage === true).map((v) => (isObject(v) ? (v.name ?? '') : '')) : [];
      o.status = { conditions: null, acceptedNames: { plural: '', kind: '' }, storedVersions: stored };
      return;
    }
    default:
      if (def.subresources.some((s) => s.name === 'status') && !def.custom) o.status = {};
  }
}

// ---- validation ------------------------------------------------------------------------------------
function nameErrors(def: ResourceDef, name: string): FieldError[] {
  if (def.group === 'rbac.authorization.k8s.io') {
    if (name === '.' || name === '..' || /[/%]/.test(name))
      return [{ type: 'FieldValueInvalid', field: 'metadata.name', detail: `Invalid value: ${JSON.stringify(name)}: may not contain '/' or '%'` }];
    return [];
  }
  if (def.kind === 'Namespace') {
    return DNS1123_LABEL.test(name) && name.length <= 63 ? [] : [{ type: 'FieldValueInvalid', field: 'metadata.name', detail: `Invalid value: ${JSON.stringify(name)}: ${LABEL_MSG}` }];
  }
  if (def.kind === 'Service' && def.group === '') {
    return DNS1035_LABEL.test(name) && name.length <= 63 ? [] : [{ type: 'FieldValueInvalid', field: 'metadata.name', detail: `Invalid value: ${JSON.stringify(name)}: ${DNS1035_MSG}` }];
  }
  return DNS1123_SUBDOMAIN.test(name) && name.length <= 253 ? [] : [{ type: 'FieldValueInvalid', field: 'metadata.name', detail: `Invalid value: ${JSON.stringify(name)}: ${SUBDOMAIN_MSG}` }];
}

function goMap(m: JsonValue | undefined): string {
  if (!isObject(m)) return 'map[string]string(nil)';
  const entries = Object.keys(m)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`);
  return `map[string]string{${entries.join(', ')}}`;
}

function selectorMatches(selector: JsonValue | undefined, labels: JsonValue | undefined): boolean {
  if (!isObject(selector)) return false;
  const ml = obj(selector.matchLabels) ?? {};
  const l = obj(labels) ?? {};
  if (!Object.entries(ml).every(([k, v]) => l[k] === v)) return false;
  const exprs = selector.matchExpressions;
  if (Array.isArray(exprs))
    for (const e of exprs) {
      if (!isObject(e)) continue;
      const key = str(e.key) ?? '';
      const values = Array.isArray(e.values) ? e.values : [];
      const has = key in l;
      switch (e.operator) {
        case 'In':
          if (!has || !values.includes(l[key])) return false;
          break;
        case 'NotIn':
          if (has && values.includes(l[key])) return false;
          break;
        case 'Exists':
          if (!has) return false;
          break;
        case 'DoesNotExist':
          if (has) return false;
          break;
        default:
          return false;
      }
    }
  return Object.keys(ml).length > 0 || (Array.isArray(exprs) && exprs.length > 0);
}

function podSpecErrors(spec: JsonValue | undefined, path: string, errs: FieldError[]): void {
  const containers = obj(spec)?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    errs.push({ type: 'FieldValueRequired', field: `${path}.containers`, detail: 'Required value' });
    return;
  }
  const seen = new Set<string>();
  containers.forEach((c, i) => {
    const name = str(obj(c)?.name);
    if (!name) errs.push({ type: 'FieldValueRequired', field: `${path}.containers[${i}].name`, detail: 'Required value' });
    else if (seen.has(name)) errs.push({ type: 'FieldValueDuplicate', field: `${path}.containers[${i}].name`, detail: `Duplicate value: ${JSON.stringify(name)}` });
    else if (!DNS1123_LABEL.test(name)) errs.push({ type: 'FieldValueInvalid', field: `${path}.containers[${i}].name`, detail: `Invalid value: ${JSON.stringify(name)}: ${LABEL_MSG}` });
    if (name) seen.add(name);
    if (!str(obj(c)?.image)) errs.push({ type: 'FieldValueRequired', field: `${path}.containers[${i}].image`, detail: 'Required value' });
  });
}

export function validate(def: ResourceDef, o: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const meta = obj(o.metadata) ?? {};
  const name = str(meta.name);
  if (!name) errs.push({ type: 'FieldValueRequired', field: 'metadata.name', detail: 'Required value: name or generateName is required' });
  else errs.push(...nameErrors(def, name));
  const labels = meta.labels;
  if (isObject(labels))
    for (const [k, v] of Object.entries(labels)) {
      if (typeof v !== 'string' || (v !== '' && !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)) || v.length > 63)
        errs.push({
          type: 'FieldValueInvalid',
          field: 'metadata.labels',
          detail: `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
        });
      void k;
    }
  const spec = obj(o.spec);
  switch (kindKey(def)) {
    case 'apps/Deployment':
    case 'apps/StatefulSet':
    case 'apps/DaemonSet': {
      const selector = spec?.selector;
      const tlabels = obj(obj(spec?.template)?.metadata)?.labels;
      if (!isObject(selector)) errs.push({ type: 'FieldValueRequired', field: 'spec.selector', detail: 'Required value' });
      else if (!selectorMatches(selector, tlabels))
        errs.push({ type: 'FieldValueInvalid', field: 'spec.template.metadata.labels', detail: `Invalid value: ${goMap(tlabels)}: \`selector\` does not match template \`labels\`` });
      podSpecErrors(obj(spec?.template)?.spec, 'spec.template.spec', errs);
      if (typeof spec?.replicas === 'number' && spec.replicas < 0)
        errs.push({ type: 'FieldValueInvalid', field: 'spec.replicas', detail: `Invalid value: ${spec.replicas}: must be greater than or equal to 0` });
      if (old && JSON.stringify(obj(old.spec)?.selector) !== JSON.stringify(selector) && isObject(selector))
        errs.push({ type: 'FieldValueInvalid', field: 'spec.selector', detail: `Invalid value: ${JSON.stringify(selector)}: field is immutable` });
      break;
    }
    case 'batch/Job': {
      podSpecErrors(obj(spec?.template)?.spec, 'spec.template.spec', errs);
      const rp = obj(obj(spec?.template)?.spec)?.restartPolicy;
      if (rp !== 'Never' && rp !== 'OnFailure')
        errs.push({ type: 'FieldValueNotSupported', field: 'spec.template.spec.restartPolicy', detail: `Unsupported value: ${JSON.stringify(rp ?? '')}: supported values: "OnFailure", "Never"` });
      break;
    }
    case '/Pod':
      podSpecErrors(spec, 'spec', errs);
      break;
    case '/Service': {
      const ports = spec?.ports;
      if (spec?.type !== 'ExternalName' && (!Array.isArray(ports) || ports.length === 0))
        errs.push({ type: 'FieldValueRequired', field: 'spec.ports', detail: 'Required value' });
      break;
    }
    case 'rbac.authorization.k8s.io/RoleBinding':
    case 'rbac.authorization.k8s.io/ClusterRoleBinding': {
      const ref = obj(o.roleRef);
      if (!str(ref?.name)) errs.push({ type: 'FieldValueRequired', field: 'roleRef.name', detail: 'Required value' });
      if (old && JSON.stringify(old.roleRef) !== JSON.stringify(o.roleRef))
        errs.push({ type: 'FieldValueInvalid', field: 'roleRef', detail: `Invalid value: ${JSON.stringify(o.roleRef)}: cannot change roleRef` });
      break;
    }
    default:
      break;
  }
  return errs;
}
