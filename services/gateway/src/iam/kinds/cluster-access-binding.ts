import {
  FLOTILLA_IAM_GROUP,
  FLOTILLA_IAM_VERSION,
  FlotillaError,
  IamResource,
  MEMBER_ROLES,
  dns1123LabelErrors,
  labelValueErrors,
  labelSelectorString,
  parseLabelSelector,
  qualifiedNameErrors,
} from '@flotilla/domain';
import type { LabelSelector } from '@flotilla/domain';
import type { ResourceKind } from '../../resources/resource-kind';
import { Causes, Json, isObject } from '../../resources/validation';
import { beginValidation } from './common';
import { validateSubjects } from './subjects';

const API_VERSION = `${FLOTILLA_IAM_GROUP}/${FLOTILLA_IAM_VERSION}`;
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
const MAX_CLUSTERS = 1000;

function validateSelector(value: unknown, causes: Causes): LabelSelector | undefined {
  const field = 'clusterSelector';
  if (!isObject(value)) {
    causes.invalid(field, value, 'must be a label selector {matchLabels: {...}, matchExpressions: [...]}');
    return undefined;
  }
  const before = causes.list.length;
  const selector: LabelSelector = {};
  if (value.matchLabels !== undefined && value.matchLabels !== null) {
    if (!isObject(value.matchLabels)) causes.invalid(`${field}.matchLabels`, value.matchLabels, 'must be an object of label keys to values');
    else {
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(value.matchLabels)) {
        for (const e of qualifiedNameErrors(k)) causes.invalid(`${field}.matchLabels`, k, e);
        if (typeof v !== 'string') causes.invalid(`${field}.matchLabels[${k}]`, v, 'must be a string');
        else for (const e of labelValueErrors(v)) causes.invalid(`${field}.matchLabels[${k}]`, v, e);
        labels[k] = String(v);
      }
      selector.matchLabels = labels;
    }
  }
  if (value.matchExpressions !== undefined && value.matchExpressions !== null) {
    if (!Array.isArray(value.matchExpressions)) causes.invalid(`${field}.matchExpressions`, value.matchExpressions, 'must be a list of {key, operator, values}');
    else {
      selector.matchExpressions = [];
      value.matchExpressions.forEach((raw: unknown, i: number) => {
        const at = `${field}.matchExpressions[${i}]`;
        if (!isObject(raw)) return causes.invalid(at, raw, 'must be {key, operator, values}');
        if (typeof raw.key !== 'string') return causes.required(`${at}.key`);
        for (const e of qualifiedNameErrors(raw.key)) causes.invalid(`${at}.key`, raw.key, e);
        if (typeof raw.operator !== 'string' || !(OPERATORS as readonly string[]).includes(raw.operator)) return causes.notSupported(`${at}.operator`, raw.operator, OPERATORS);
        const operator = raw.operator as (typeof OPERATORS)[number];
        const values = raw.values ?? [];
        if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) return causes.invalid(`${at}.values`, values, 'must be a list of strings');
        if ((operator === 'In' || operator === 'NotIn') && values.length === 0) causes.required(`${at}.values`, `Required value: must be specified when operator is ${operator}`);
        if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0) causes.forbidden(`${at}.values`, `may not be specified when operator is ${operator}`);
        values.forEach((v: string, j: number) => labelValueErrors(v).forEach((e) => causes.invalid(`${at}.values[${j}]`, v, e)));
        selector.matchExpressions!.push({ key: raw.key, operator, ...(values.length > 0 ? { values: values as string[] } : {}) });
      });
    }
  }
  if (causes.list.length > before) return undefined;
  // The same parser the mirror matches with: whatever it would refuse is refused here, naming the field.
  try {
    parseLabelSelector(labelSelectorString(selector));
  } catch (error) {
    if (!(error instanceof FlotillaError)) throw error;
    causes.invalid(field, labelSelectorString(selector), error.message);
    return undefined;
  }
  return selector;
}

function validateClusters(value: unknown, causes: Causes): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    causes.invalid('clusters', value, 'must be a list of cluster names');
    return undefined;
  }
  if (value.length > MAX_CLUSTERS) {
    causes.tooMany('clusters', MAX_CLUSTERS);
    return undefined;
  }
  const out: string[] = [];
  value.forEach((c: unknown, i: number) => {
    if (typeof c !== 'string' || c === '') return causes.invalid(`clusters[${i}]`, c, 'must be a cluster name');
    const errors = dns1123LabelErrors(c);
    for (const e of errors) causes.invalid(`clusters[${i}]`, c, e);
    if (errors.length === 0 && !out.includes(c)) out.push(c);
  });
  return out;
}

/**
 * ClusterAccessBinding: subjects get one member role (cluster-admin, -editor, -viewer) on the named
 * clusters and/or on every cluster the selector matches (evaluated live by the IAM mirror).
 */
export function validateClusterAccessBinding(obj: unknown, old?: Json): Json {
  const { causes, body, metadata, name } = beginValidation(obj, API_VERSION, 'ClusterAccessBinding', old);
  const subjects = validateSubjects(body.subjects, causes);
  let role = '';
  if (body.role === undefined || body.role === null || body.role === '') causes.required('role', `Required value: one of ${MEMBER_ROLES.map((r) => `"${r}"`).join(', ')}`);
  else if (typeof body.role !== 'string' || !(MEMBER_ROLES as readonly string[]).includes(body.role)) causes.notSupported('role', body.role, MEMBER_ROLES);
  else role = body.role;
  const clusters = validateClusters(body.clusters, causes);
  const hasSelector = body.clusterSelector !== undefined && body.clusterSelector !== null;
  const clusterSelector = hasSelector ? validateSelector(body.clusterSelector, causes) : undefined;
  if ((clusters === undefined || clusters.length === 0) && !hasSelector) {
    causes.required('clusters', 'Required value: name the clusters, or set clusterSelector (a label selector over Clusters; {} selects every cluster), or both');
  }
  causes.throwIfAny('ClusterAccessBinding', name);
  return {
    apiVersion: API_VERSION,
    kind: 'ClusterAccessBinding',
    metadata,
    subjects,
    role,
    ...(clusters && clusters.length > 0 ? { clusters } : {}),
    ...(clusterSelector ? { clusterSelector } : {}),
  };
}

export const clusterAccessBindingKind: ResourceKind = {
  group: FLOTILLA_IAM_GROUP,
  version: FLOTILLA_IAM_VERSION,
  kind: 'ClusterAccessBinding',
  listKind: 'ClusterAccessBindingList',
  plural: 'clusteraccessbindings',
  singular: 'clusteraccessbinding',
  shortNames: ['cab'],
  namespaced: false,
  storeKey: IamResource.clusterAccessBindings,
  validate: validateClusterAccessBinding,
  toApi: (obj) => obj,
};
