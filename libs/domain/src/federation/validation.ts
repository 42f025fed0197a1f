import type { ErrorCause } from '../errors/flotilla-error';
import { dns1123LabelErrors } from '../cluster/names';
import { ADOPT_ANNOTATION, DRIFT_ANNOTATION, RETAIN_ANNOTATION } from './constants';
import { Causes, isObject, type Json } from './causes';
import { type FederatedKindInfo, federatedApiVersion } from './kinds';
import { validateOverrides } from './validate-overrides';
import { validatePlacement } from './validate-placement';
import { validateTemplate } from './validate-template';

export interface FederationLimits {
  /** Largest template, as JSON bytes. */
  maxTemplateBytes: number;
  /** Deepest nesting of the whole object (template, override values). */
  maxDepth: number;
  maxPlacementClusters: number;
  maxOverrides: number;
  maxOverrideOps: number;
  maxOverrideWorkBytes: number;
}

export const DEFAULT_MAX_TEMPLATE_BYTES = 1024 * 1024;
export const DEFAULT_FEDERATION_LIMITS: FederationLimits = Object.freeze({
  maxTemplateBytes: DEFAULT_MAX_TEMPLATE_BYTES,
  maxDepth: 64,
  maxPlacementClusters: 10_000,
  maxOverrides: 1_000,
  maxOverrideOps: 100,
  maxOverrideWorkBytes: 256 * 1024 * 1024,
});

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** The first place the value nests deeper than `max` levels (walked without recursion), or undefined. */
export function tooDeepAt(value: unknown, max: number, root = ''): string | undefined {
  const stack: [unknown, number, string][] = [[value, 0, root]];
  while (stack.length > 0) {
    const [v, depth, path] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return path || root;
    if (Array.isArray(v)) v.forEach((item, i) => stack.push([item, depth + 1, `${path}[${i}]`]));
    else for (const [k, item] of Object.entries(v)) stack.push([item, depth + 1, path ? `${path}.${k}` : k]);
  }
  return undefined;
}

function nameCauses(info: FederatedKindInfo, name: unknown, causes: Causes): string | undefined {
  if (typeof name !== 'string' || name === '') {
    causes.required('metadata.name', 'name is required');
    return undefined;
  }
  const target = info.target?.kind;
  if (target === 'Namespace') for (const e of dns1123LabelErrors(name)) causes.invalid('metadata.name', name, `${e} (it names a namespace)`);
  else if (target === 'Service' && (name.length > 63 || !DNS1035_LABEL.test(name))) {
    causes.invalid('metadata.name', name, 'a Service name must be a DNS-1035 label: at most 63 lower case alphanumeric characters or "-", starting with a letter (e.g. "my-service")');
  } else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    causes.invalid('metadata.name', name, 'must be a lowercase RFC 1123 subdomain: lower case alphanumeric characters, "-" or ".", starting and ending with an alphanumeric character (e.g. "example.com"), at most 253');
  }
  return name;
}

function policyCauses(annotations: unknown, causes: Causes): void {
  if (!isObject(annotations)) return;
  for (const key of [RETAIN_ANNOTATION, ADOPT_ANNOTATION]) {
    const v = annotations[key];
    if (v !== undefined && v !== 'true' && v !== 'false') causes.notSupported(`metadata.annotations[${key}]`, v, ['true', 'false']);
  }
  const drift = annotations[DRIFT_ANNOTATION];
  if (drift !== undefined && drift !== 'repair' && drift !== 'report') causes.notSupported(`metadata.annotations[${DRIFT_ANNOTATION}]`, drift, ['repair', 'report'], 'repair is the default');
}

/**
 * Validates a federated object as written (create, replace, or the result of a patch), for the
 * kind `info`, in the namespace of the request ('' or undefined for cluster-scoped kinds). Returns
 * every problem as a StatusCause naming the field (e.g. `spec.overrides[0].clusterOverrides[1].path`)
 * and what to write instead; empty when valid. Generic metadata (labels, annotations of the
 * federated object itself) is the caller's to check; its federation policy annotations are checked here.
 */
export function validateFederatedObject(info: FederatedKindInfo, obj: unknown, namespaceOfRequest: string | undefined, limits: Partial<FederationLimits> = {}): ErrorCause[] {
  const bounds = { ...DEFAULT_FEDERATION_LIMITS, ...limits };
  const causes = new Causes();
  if (!isObject(obj)) {
    causes.invalid('', obj, `must be a ${info.kind} object`);
    return causes.list;
  }
  const deep = tooDeepAt(obj, bounds.maxDepth);
  if (deep !== undefined) {
    causes.invalid(deep, '(nested value)', `nests deeper than ${bounds.maxDepth} levels: flatten it`);
    return causes.list;
  }
  const apiVersion = federatedApiVersion(info);
  if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) causes.invalid('apiVersion', obj.apiVersion, `must be "${apiVersion}" for ${info.kind}`);
  if (obj.kind !== undefined && obj.kind !== info.kind) causes.invalid('kind', obj.kind, `must be "${info.kind}" at this path`);

  const metadata: Json = isObject(obj.metadata) ? obj.metadata : {};
  if (!isObject(obj.metadata)) causes.required('metadata', 'metadata with a name is required');
  const name = nameCauses(info, metadata.name, causes);
  const requestNs = namespaceOfRequest || undefined;
  const ns = metadata.namespace;
  if (info.namespaced) {
    if (!requestNs) causes.required('metadata.namespace', `a ${info.kind} is namespaced: create it under /apis/${apiVersion}/namespaces/<namespace>/${info.plural}`);
    else if (ns !== undefined && ns !== null && ns !== '' && ns !== requestNs) {
      causes.invalid('metadata.namespace', ns, `does not match the namespace of the request: remove it or write "${requestNs}"`);
    }
    if (info.target?.kind === 'Namespace' && name && requestNs && name !== requestNs) {
      causes.invalid('metadata.name', name, `a FederatedNamespace lives in the namespace it federates: name it "${requestNs}", or create it in namespace "${name}"`);
    }
  } else if (ns !== undefined && ns !== null && ns !== '') {
    causes.forbidden('metadata.namespace', `a ${info.kind} is cluster-scoped: remove metadata.namespace`);
  }
  policyCauses(metadata.annotations, causes);

  const spec = obj.spec;
  if (!isObject(spec)) {
    causes.required('spec', 'spec with a template is required, e.g. {template: {...}, placement: {clusters: [{name: member-1}]}}');
    return causes.list;
  }
  let template: Json | undefined;
  let templateBytes = 0;
  if ((spec.template === undefined || spec.template === null) && info.target?.kind === 'Namespace') {
    // kubefed's FederatedNamespace usually carries only a placement: the namespace itself is the template.
    template = {};
  } else if (!isObject(spec.template)) {
    if (spec.template === undefined || spec.template === null) causes.required('spec.template', 'the object to place in every selected cluster');
    else causes.invalid('spec.template', info.target?.kind === 'Secret' ? '(redacted)' : spec.template, 'must be an object');
  } else {
    templateBytes = Buffer.byteLength(JSON.stringify(spec.template), 'utf8');
    if (templateBytes > bounds.maxTemplateBytes) {
      causes.tooLong('spec.template', `must be at most ${bounds.maxTemplateBytes} bytes as JSON, got ${templateBytes}: move bulk data into ConfigMaps of its own`);
    } else {
      template = spec.template;
      validateTemplate(info, template, name, info.namespaced ? requestNs : undefined, causes);
    }
  }
  validatePlacement(spec.placement, causes, bounds.maxPlacementClusters);
  if (spec.overrides !== undefined && spec.overrides !== null) {
    const overrideBytes = Buffer.byteLength(JSON.stringify(spec.overrides), 'utf8');
    if (overrideBytes > bounds.maxTemplateBytes) causes.tooLong('spec.overrides', `must be at most ${bounds.maxTemplateBytes} bytes as JSON, got ${overrideBytes}`);
    else validateOverrides(info, spec.overrides, template, templateBytes, causes, bounds);
  }
  return causes.list;
}

const KNOWN: Record<string, readonly string[]> = {
  '': ['apiVersion', 'kind', 'metadata', 'spec', 'status'],
  spec: ['template', 'placement', 'overrides'],
  'spec.placement': ['clusters', 'clusterSelector'],
  'spec.placement.clusterSelector': ['matchLabels', 'matchExpressions'],
};

/** Paths of fields a federated object's schema does not have (for a warning, or a refusal under Strict field validation). The template is free-form. */
export function federatedUnknownFields(obj: unknown): string[] {
  const unknown: string[] = [];
  const check = (value: unknown, path: string, known: readonly string[]) => {
    if (!isObject(value)) return;
    for (const key of Object.keys(value)) if (!known.includes(key)) unknown.push(path ? `${path}.${key}` : key);
  };
  if (!isObject(obj)) return unknown;
  check(obj, '', KNOWN['']!);
  const spec = obj.spec;
  if (!isObject(spec)) return unknown;
  check(spec, 'spec', KNOWN.spec!);
  check(spec.placement, 'spec.placement', KNOWN['spec.placement']!);
  if (isObject(spec.placement)) check(spec.placement.clusterSelector, 'spec.placement.clusterSelector', KNOWN['spec.placement.clusterSelector']!);
  if (Array.isArray(spec.overrides)) {
    spec.overrides.forEach((entry: unknown, i: number) => {
      check(entry, `spec.overrides[${i}]`, ['clusterName', 'clusterOverrides']);
      if (isObject(entry) && Array.isArray(entry.clusterOverrides)) {
        entry.clusterOverrides.forEach((o: unknown, j: number) => check(o, `spec.overrides[${i}].clusterOverrides[${j}]`, ['op', 'path', 'value']));
      }
    });
  }
  return unknown;
}
