import { dns1123LabelErrors, labelValueErrors, qualifiedNameErrors } from '../cluster/names';
import { MAX_SELECTOR_REQUIREMENTS } from '../selectors/label-selector';
import { Causes, isObject } from './causes';

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** spec.placement: clusters by name (DNS-1123 labels, no repeats) and/or a well-formed label selector. */
export function validatePlacement(placement: unknown, causes: Causes, maxClusters: number): void {
  const field = 'spec.placement';
  if (placement === undefined || placement === null) return;
  if (!isObject(placement)) {
    causes.invalid(field, placement, 'must be an object {clusters: [{name}], clusterSelector: {matchLabels, matchExpressions}}');
    return;
  }
  const clusters = placement.clusters;
  if (clusters !== undefined && clusters !== null) {
    if (!Array.isArray(clusters)) causes.invalid(`${field}.clusters`, clusters, 'must be a list of {name: <cluster>}');
    else if (clusters.length > maxClusters) causes.tooMany(`${field}.clusters`, `must have at most ${maxClusters} clusters, got ${clusters.length}: select them by label with clusterSelector instead`);
    else {
      const seen = new Set<string>();
      clusters.forEach((c: unknown, i: number) => {
        const at = `${field}.clusters[${i}]`;
        if (!isObject(c)) return causes.invalid(at, c, 'must be an object {name: <cluster>}');
        if (typeof c.name !== 'string' || c.name === '') return causes.required(`${at}.name`, 'name the cluster, e.g. {name: member-1}');
        for (const e of dns1123LabelErrors(c.name)) causes.invalid(`${at}.name`, c.name, `${e} (cluster names are DNS-1123 labels)`);
        if (seen.has(c.name)) causes.duplicate(`${at}.name`, c.name, 'each cluster is listed once: remove the repeated entry');
        seen.add(c.name);
      });
    }
  }
  if (placement.clusterSelector !== undefined && placement.clusterSelector !== null) validateSelector(placement.clusterSelector, `${field}.clusterSelector`, causes);
}

/** A LabelSelector as Kubernetes validates it (metav1validation.ValidateLabelSelector). */
export function validateSelector(selector: unknown, field: string, causes: Causes): void {
  if (!isObject(selector)) {
    causes.invalid(field, selector, 'must be a label selector {matchLabels: {key: value}, matchExpressions: [{key, operator, values}]} ({} selects every cluster)');
    return;
  }
  const matchLabels = selector.matchLabels;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isObject(matchLabels)) causes.invalid(`${field}.matchLabels`, matchLabels, 'must be an object of label keys to values, e.g. {env: prod}');
    else {
      for (const [key, value] of Object.entries(matchLabels)) {
        for (const e of qualifiedNameErrors(key)) causes.invalid(`${field}.matchLabels`, key, e);
        if (typeof value !== 'string') causes.invalid(`${field}.matchLabels[${key}]`, value, 'must be a string (quote numbers and booleans, e.g. "true")');
        else for (const e of labelValueErrors(value)) causes.invalid(`${field}.matchLabels[${key}]`, value, e);
      }
    }
  }
  const expressions = selector.matchExpressions;
  if (expressions === undefined || expressions === null) return;
  if (!Array.isArray(expressions)) {
    causes.invalid(`${field}.matchExpressions`, expressions, 'must be a list of {key, operator, values}');
    return;
  }
  if (expressions.length > MAX_SELECTOR_REQUIREMENTS) {
    causes.tooMany(`${field}.matchExpressions`, `must have at most ${MAX_SELECTOR_REQUIREMENTS} expressions, got ${expressions.length}`);
    return;
  }
  expressions.forEach((e: unknown, i: number) => {
    const at = `${field}.matchExpressions[${i}]`;
    if (!isObject(e)) return causes.invalid(at, e, 'must be an object {key, operator, values}');
    if (typeof e.key !== 'string' || e.key === '') causes.required(`${at}.key`, 'the label key, e.g. env');
    else for (const err of qualifiedNameErrors(e.key)) causes.invalid(`${at}.key`, e.key, err);
    if (!OPERATORS.includes(e.operator as (typeof OPERATORS)[number])) {
      const hint = e.operator === 'Equals' || e.operator === '=' ? 'for equality use In with one value, or matchLabels' : '';
      if (e.operator === undefined) causes.required(`${at}.operator`, 'one of In, NotIn, Exists, DoesNotExist');
      else causes.notSupported(`${at}.operator`, e.operator, OPERATORS, hint);
      return;
    }
    const values = e.values;
    const empty = values === undefined || values === null || (Array.isArray(values) && values.length === 0);
    if (e.operator === 'In' || e.operator === 'NotIn') {
      if (empty) return causes.required(`${at}.values`, `must be specified when operator is ${e.operator}, e.g. values: [prod]`);
      if (!Array.isArray(values)) return causes.invalid(`${at}.values`, values, 'must be a list of strings');
      values.forEach((v: unknown, j: number) => {
        if (typeof v !== 'string') causes.invalid(`${at}.values[${j}]`, v, 'must be a string (quote numbers and booleans)');
        else for (const err of labelValueErrors(v)) causes.invalid(`${at}.values[${j}]`, v, err);
      });
    } else if (!empty) {
      causes.forbidden(`${at}.values`, `may not be specified when operator is ${e.operator}: remove values`);
    }
  });
}
