import { FEDERATED_KINDS, FLOTILLA_IAM_GROUP, KUBESPHERE_IAM_GROUP, REPLICA_SCHEDULING_PREFERENCE } from '@flotilla/domain';
import { SCHEMAS } from '../schemas';
import { LABEL_SELECTOR, Schema, bool, int, list, obj, opaque, refAs, str, strings, time } from './meta-schemas';

/**
 * The schemas of spec/status (or the other top-level fields) of each kind Flotilla serves, keyed
 * `<group>/<kind>`: what the kinds' validation accepts, so kubectl explain shows it and kubectl's
 * client-side validation refuses what the server would drop. Cluster comes from the REST
 * document's schema (schemas.ts), the rest from the kinds' validation rules.
 */
type Fields = Record<string, Schema>;

const subject = obj(
  'A subject: a Flotilla User ("alice", "admin" or "oidc:<name>"), a Group, or a Token (by its name).',
  { kind: str('User, Group or Token.'), name: str('The name of the user, group or token.'), apiGroup: str('Accepted for KubeSphere compatibility and not stored.') },
  ['kind', 'name'],
);
const subjects = list('Who the binding applies to.', subject);

const placement = obj('Which member clusters the object is placed in: the named clusters and every cluster the selector matches.', {
  clusters: list('Clusters by name.', obj('A member cluster by name.', { name: str('The Cluster name.') }, ['name'])),
  clusterSelector: refAs(LABEL_SELECTOR, 'A label selector over Clusters; {} selects every cluster.'),
});

const overrides = list(
  'Per-cluster changes applied to the template in that cluster.',
  obj(
    'The overrides of one cluster.',
    {
      clusterName: str('The Cluster the overrides apply to.'),
      clusterOverrides: list(
        'JSON-patch-like changes of the template.',
        obj(
          'One change: op (add, remove or replace; replace when left out), path (e.g. /spec/replicas) and value.',
          { op: str('add, remove or replace (the default).'), path: str('A JSON pointer into the template, e.g. /spec/replicas.'), value: { description: 'The new value (any JSON).', 'x-kubernetes-preserve-unknown-fields': true } },
          ['path'],
        ),
      ),
    },
    ['clusterName'],
  ),
);

const federatedFields = (target: string): Fields => ({
  spec: obj(
    'The template placed in member clusters, where, and how it differs per cluster.',
    {
      template: opaque(`The ${target} placed in each selected cluster (metadata.name and namespace are the federated object's).`),
      placement,
      overrides,
    },
    ['template', 'placement'],
  ),
  status: opaque('Propagation state reported by federation-sync: conditions and per-cluster status. Read-only.'),
});

const clusterSchema = SCHEMAS.Cluster as { properties: Fields };

const FIELDS: Record<string, Fields> = {
  'cluster.kubesphere.io/Cluster': {
    spec: structuredClone(clusterSchema.properties.spec!),
    status: structuredClone(clusterSchema.properties.status!),
  },
  [`${KUBESPHERE_IAM_GROUP}/User`]: {
    spec: obj('A Flotilla user. Users have no password: they sign in with a Token or OIDC.', {
      email: str('E-mail address, e.g. "alice@example.com".', { maxLength: 254 }),
      displayName: str('Name shown for the user.', { maxLength: 256 }),
      description: str('Free text.', { maxLength: 1024 }),
      lang: str('Preferred language.', { maxLength: 32 }),
      groups: strings('Groups the user belongs to, bound by GlobalRoleBindings and ClusterAccessBindings.'),
    }),
    status: obj('State of the user.', { state: str('Active, or Disabled (the user\'s tokens are refused).'), lastLoginTime: time('When the user last signed in. Read-only.') }),
  },
  [`${KUBESPHERE_IAM_GROUP}/GlobalRole`]: {
    rules: list(
      'What the role allows, as Kubernetes RBAC rules. GlobalRoles are built in and read-only.',
      obj('A policy rule.', { apiGroups: strings('API groups.'), resources: strings('Resources.'), verbs: strings('Verbs.'), nonResourceURLs: strings('Non-resource paths.') }, ['verbs']),
    ),
  },
  [`${KUBESPHERE_IAM_GROUP}/GlobalRoleBinding`]: {
    subjects,
    roleRef: obj('The GlobalRole granted: fleet-admin or fleet-viewer. Cannot be changed.', { apiGroup: str('iam.kubesphere.io'), kind: str('GlobalRole'), name: str('fleet-admin or fleet-viewer.') }, ['name']),
  },
  [`${FLOTILLA_IAM_GROUP}/Token`]: {
    spec: obj(
      'A bearer token for a user. Its secret is shown once, in the answer to the create; only description may change later.',
      {
        user: str('The User this token signs in as ("admin" for the administrator).'),
        expirationTimestamp: time('When the token stops working (RFC 3339), at most FLOTILLA_TOKEN_MAX_TTL_DAYS ahead.'),
        description: str('What the token is for.', { maxLength: 1024 }),
        purpose: str('A short label for the token\'s use.', { maxLength: 253 }),
      },
      ['user'],
    ),
    status: obj('Read-only.', { lastUsedTime: time('When the token was last used.'), secret: str('The token, in the answer to the create only.') }),
  },
  [`${FLOTILLA_IAM_GROUP}/ClusterAccessBinding`]: {
    subjects,
    role: str('The member role granted: cluster-admin, cluster-editor or cluster-viewer.'),
    clusters: strings('Clusters by name.'),
    clusterSelector: refAs(LABEL_SELECTOR, 'A label selector over Clusters ({} selects every cluster), evaluated as clusters change.'),
  },
  [`${REPLICA_SCHEDULING_PREFERENCE.group}/${REPLICA_SCHEDULING_PREFERENCE.kind}`]: {
    spec: obj(
      "How a FederatedDeployment's or FederatedStatefulSet's replicas (same name and namespace) are divided over its clusters.",
      {
        targetKind: str('FederatedDeployment or FederatedStatefulSet.'),
        totalReplicas: int('How many replicas in all clusters together.', { minimum: 0 }),
        rebalance: bool('Whether replicas move to clusters that can take them.'),
        clusters: {
          type: 'object',
          description: 'Per cluster name (or "*" for every other cluster): weight, minReplicas and maxReplicas. Default {"*": {weight: 1}}.',
          additionalProperties: obj('The share of one cluster.', {
            weight: int('Relative share of the replicas.', { minimum: 0 }),
            minReplicas: int('At least this many here.', { minimum: 0 }),
            maxReplicas: int('At most this many here.', { minimum: 0 }),
          }),
        },
      },
      ['targetKind', 'totalReplicas'],
    ),
    status: opaque('Read-only.'),
  },
  '/Namespace': {
    spec: obj('Spec defines the behavior of the Namespace.', { finalizers: strings('Finalizers is an opaque list of values that must be empty to permanently remove object from storage.') }),
    status: obj('Status describes the current status of a Namespace. Read-only.', { phase: str('Phase is the current lifecycle phase of the namespace: Active.') }),
  },
  'authorization.k8s.io/SelfSubjectAccessReview': {
    spec: obj('Spec holds information about the request being evaluated: set resourceAttributes or nonResourceAttributes.', {
      resourceAttributes: obj('The resource request.', {
        namespace: str('Namespace of the action.'),
        verb: str('A kubernetes resource API verb, like: get, list, watch, create, update, delete, proxy.'),
        group: str('The API group of the resource.'),
        version: str('The API version of the resource.'),
        resource: str('One of the existing resource types.'),
        subresource: str('One of the existing subresources.'),
        name: str('The name of the resource.'),
      }),
      nonResourceAttributes: obj('The non-resource request.', { path: str('The URL path of the request.'), verb: str('The standard HTTP verb.') }),
    }),
    status: obj('Status is filled in by the server and indicates whether the request is allowed or not.', {
      allowed: bool('Whether the action would be allowed.'),
      denied: bool('Whether the action would be denied.'),
      reason: str('Why the action is allowed or denied.'),
      evaluationError: str('An error while evaluating the rules.'),
    }, ['allowed']),
  },
  'events.k8s.io/Event': {
    eventTime: time('When the event was first observed.'),
    series: opaque('Data about the series of events this one belongs to.'),
    reportingController: str('The component that emitted the event.'),
    reportingInstance: str('The instance of the component that emitted the event.'),
    action: str('What action was taken or failed.'),
    reason: str('Why the action was taken, in CamelCase.'),
    regarding: opaque('The object this event is about.'),
    related: opaque('A secondary object.'),
    note: str('A human-readable description of the status of this operation.'),
    type: str('Normal or Warning.'),
    deprecatedSource: opaque('The source of the event (core/v1 Event compatibility).'),
    deprecatedFirstTimestamp: time('First seen (core/v1 Event compatibility).'),
    deprecatedLastTimestamp: time('Last seen (core/v1 Event compatibility).'),
    deprecatedCount: int('How many times it occurred (core/v1 Event compatibility).'),
  },
};
for (const info of FEDERATED_KINDS) {
  const target = info.target ? `${info.target.kind} (${info.target.apiVersion})` : 'object (its apiVersion and kind name the placed kind)';
  FIELDS[`${info.group}/${info.kind}`] = federatedFields(target);
}

const DESCRIPTIONS: Record<string, string> = {
  'cluster.kubesphere.io/Cluster': (SCHEMAS.Cluster as { description: string }).description,
  '/Namespace': 'Namespace provides a scope for Names: here, where namespaced federated objects live.',
};

/** Top-level fields of `<group>/<kind>` besides apiVersion, kind and metadata; undefined for a kind without a schema here. */
export function kindFields(group: string, kind: string): Fields | undefined {
  const f = FIELDS[`${group}/${kind}`];
  return f ? structuredClone(f) : undefined;
}

export function kindDescription(group: string, kind: string): string {
  return DESCRIPTIONS[`${group}/${kind}`] ?? `${kind} of ${group || 'the core group'}, served by Flotilla.`;
}

/** Required top-level fields (apiVersion and kind are required of every object by the server). */
export function kindRequired(group: string, kind: string): string[] {
  return group === 'cluster.kubesphere.io' && kind === 'Cluster' ? ['spec'] : [];
}
