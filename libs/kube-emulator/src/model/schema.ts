/**
 * The structural schemas of the built-in kinds the emulator knows well. With the shared schema
 * model of @flotilla/apply they drive:
 *  - strategic merge patch (patchMergeKey / patchStrategy),
 *  - server-side apply and managedFields (list types and keys, atomic structs),
 *  - unknown-field detection (fieldValidation=Strict/Warn),
 *  - the OpenAPI v3 documents kubectl downloads.
 * Subtrees the emulator does not model are `any`: preserved as sent, never reported unknown.
 */
import {
  any,
  atomicList,
  bool,
  int,
  intOrString,
  kindSchema,
  labelSelector,
  map,
  mapList,
  objectMeta,
  req,
  setList,
  string,
  struct,
  type StructSchema,
} from '@flotilla/apply';

// ---- pods ---------------------------------------------------------------------------------
const containerPort = struct({ name: string, hostPort: int, containerPort: int, protocol: string, hostIP: string });
const envVar = struct({ name: string, value: string, valueFrom: any });
const volumeMount = struct({
  name: string,
  readOnly: bool,
  mountPath: string,
  subPath: string,
  mountPropagation: string,
  subPathExpr: string,
});
const resources = struct({
  limits: map(any),
  requests: map(any),
  claims: mapList(struct({ name: string }), ['name']),
});

export const container = struct({
  name: string,
  image: string,
  command: atomicList(),
  args: atomicList(),
  workingDir: string,
  ports: mapList(containerPort, ['containerPort', 'protocol'], 'containerPort', { protocol: 'TCP' }),
  envFrom: atomicList(any),
  env: mapList(envVar, ['name'], 'name'),
  resources,
  resizePolicy: atomicList(any),
  restartPolicy: string,
  volumeMounts: mapList(volumeMount, ['mountPath'], 'mountPath'),
  volumeDevices: mapList(struct({ name: string, devicePath: string }), ['devicePath'], 'devicePath'),
  livenessProbe: any,
  readinessProbe: any,
  startupProbe: any,
  lifecycle: any,
  terminationMessagePath: string,
  terminationMessagePolicy: string,
  imagePullPolicy: string,
  securityContext: any,
  stdin: bool,
  stdinOnce: bool,
  tty: bool,
});

const volume = struct({
  name: string,
  hostPath: any,
  emptyDir: any,
  secret: any,
  configMap: any,
  persistentVolumeClaim: any,
  projected: any,
  downwardAPI: any,
  csi: any,
  ephemeral: any,
  nfs: any,
});

export const podSpec = struct({
  volumes: mapList(volume, ['name'], 'name'),
  initContainers: mapList(container, ['name'], 'name'),
  containers: req(mapList(container, ['name'], 'name')),
  ephemeralContainers: mapList(any, ['name'], 'name'),
  restartPolicy: string,
  terminationGracePeriodSeconds: int,
  activeDeadlineSeconds: int,
  dnsPolicy: string,
  nodeSelector: map(string, { atomic: true }),
  serviceAccountName: string,
  serviceAccount: string,
  automountServiceAccountToken: bool,
  nodeName: string,
  hostNetwork: bool,
  hostPID: bool,
  hostIPC: bool,
  shareProcessNamespace: bool,
  securityContext: any,
  imagePullSecrets: mapList(struct({ name: string }), ['name'], 'name'),
  hostname: string,
  subdomain: string,
  affinity: any,
  schedulerName: string,
  tolerations: atomicList(any),
  hostAliases: mapList(struct({ ip: string, hostnames: atomicList() }), ['ip'], 'ip'),
  priorityClassName: string,
  priority: int,
  dnsConfig: any,
  readinessGates: atomicList(any),
  runtimeClassName: string,
  enableServiceLinks: bool,
  preemptionPolicy: string,
  overhead: map(any),
  topologySpreadConstraints: mapList(any, ['topologyKey', 'whenUnsatisfiable'], 'topologyKey'),
  setHostnameAsFQDN: bool,
  os: any,
  hostUsers: bool,
  schedulingGates: mapList(struct({ name: string }), ['name'], 'name'),
  resourceClaims: mapList(any, ['name'], 'name'),
});

export const podTemplateSpec = req(
  struct({
    metadata: objectMeta,
    spec: req(podSpec),
  }),
);

const anyStatus = any;

// workload status, as the controllers write it (conditions merge by type, except a Job's)
const condition = (probe: 'lastUpdateTime' | 'lastProbeTime'): StructSchema =>
  struct({ type: string, status: string, [probe]: string, lastTransitionTime: string, reason: string, message: string });
const conditions = mapList(condition('lastUpdateTime'), ['type'], 'type');
const deploymentStatus = req(
  struct({ observedGeneration: int, replicas: int, updatedReplicas: int, readyReplicas: int, availableReplicas: int, unavailableReplicas: int, conditions, collisionCount: int }),
);
const statefulSetStatus = req(
  struct({
    observedGeneration: int,
    replicas: int,
    readyReplicas: int,
    currentReplicas: int,
    updatedReplicas: int,
    currentRevision: string,
    updateRevision: string,
    collisionCount: int,
    conditions,
    availableReplicas: int,
  }),
);
const daemonSetStatus = req(
  struct({
    currentNumberScheduled: int,
    numberMisscheduled: int,
    desiredNumberScheduled: int,
    numberReady: int,
    observedGeneration: int,
    updatedNumberScheduled: int,
    numberAvailable: int,
    numberUnavailable: int,
    collisionCount: int,
    conditions,
  }),
);
const jobStatus = req(
  struct({
    conditions: atomicList(condition('lastProbeTime')),
    startTime: string,
    completionTime: string,
    active: int,
    succeeded: int,
    failed: int,
    completedIndexes: string,
    uncountedTerminatedPods: struct({ succeeded: setList(), failed: setList() }),
    ready: int,
  }),
);

export const BUILTIN_SCHEMAS: Record<string, StructSchema> = {
  'v1/Namespace': kindSchema({ spec: struct({ finalizers: atomicList() }), status: anyStatus }),
  'v1/ConfigMap': kindSchema({ data: map(), binaryData: map(), immutable: bool }),
  'v1/Secret': kindSchema({ data: map(), stringData: map(), type: string, immutable: bool }),
  'v1/ServiceAccount': kindSchema({
    secrets: mapList(struct({ kind: string, namespace: string, name: string, uid: string, apiVersion: string, resourceVersion: string, fieldPath: string }), ['name'], 'name'),
    imagePullSecrets: atomicList(struct({ name: string })),
    automountServiceAccountToken: bool,
  }),
  'v1/Node': kindSchema({
    spec: struct({
      podCIDR: string,
      podCIDRs: setList(string, true),
      providerID: string,
      unschedulable: bool,
      taints: atomicList(any),
      configSource: any,
      externalID: string,
    }),
    status: anyStatus,
  }),
  'v1/Pod': kindSchema({ spec: req(podSpec), status: anyStatus }),
  'v1/Service': kindSchema({
    spec: req(
      struct({
        ports: mapList(
          struct({ name: string, protocol: string, appProtocol: string, port: int, targetPort: intOrString, nodePort: int }),
          ['port', 'protocol'],
          'port',
          { protocol: 'TCP' },
        ),
        selector: map(string, { atomic: true }),
        clusterIP: string,
        clusterIPs: atomicList(),
        type: string,
        externalIPs: atomicList(),
        sessionAffinity: string,
        loadBalancerIP: string,
        loadBalancerSourceRanges: atomicList(),
        externalName: string,
        externalTrafficPolicy: string,
        healthCheckNodePort: int,
        publishNotReadyAddresses: bool,
        sessionAffinityConfig: any,
        ipFamilies: atomicList(),
        ipFamilyPolicy: string,
        allocateLoadBalancerNodePorts: bool,
        loadBalancerClass: string,
        internalTrafficPolicy: string,
      }),
    ),
    status: anyStatus,
  }),
  'apps/v1/Deployment': kindSchema({
    spec: req(
      struct({
        replicas: int,
        selector: labelSelector,
        template: podTemplateSpec,
        strategy: req(struct({ type: string, rollingUpdate: struct({ maxUnavailable: intOrString, maxSurge: intOrString }) })),
        minReadySeconds: int,
        revisionHistoryLimit: int,
        paused: bool,
        progressDeadlineSeconds: int,
      }),
    ),
    status: deploymentStatus,
  }),
  'apps/v1/StatefulSet': kindSchema({
    spec: req(
      struct({
        replicas: int,
        selector: labelSelector,
        template: podTemplateSpec,
        volumeClaimTemplates: atomicList(any),
        serviceName: string,
        podManagementPolicy: string,
        updateStrategy: req(struct({ type: string, rollingUpdate: struct({ partition: int, maxUnavailable: intOrString }) })),
        revisionHistoryLimit: int,
        minReadySeconds: int,
        persistentVolumeClaimRetentionPolicy: struct({ whenDeleted: string, whenScaled: string }),
        ordinals: struct({ start: int }),
      }),
    ),
    status: statefulSetStatus,
  }),
  'apps/v1/DaemonSet': kindSchema({
    spec: req(
      struct({
        selector: labelSelector,
        template: podTemplateSpec,
        updateStrategy: req(struct({ type: string, rollingUpdate: struct({ maxUnavailable: intOrString, maxSurge: intOrString }) })),
        minReadySeconds: int,
        revisionHistoryLimit: int,
      }),
    ),
    status: daemonSetStatus,
  }),
  'batch/v1/Job': kindSchema({
    spec: req(
      struct({
        parallelism: int,
        completions: int,
        activeDeadlineSeconds: int,
        podFailurePolicy: any,
        backoffLimit: int,
        backoffLimitPerIndex: int,
        maxFailedIndexes: int,
        selector: labelSelector,
        manualSelector: bool,
        template: podTemplateSpec,
        ttlSecondsAfterFinished: int,
        completionMode: string,
        suspend: bool,
        podReplacementPolicy: string,
        successPolicy: any,
        managedBy: string,
      }),
    ),
    status: jobStatus,
  }),
  'networking.k8s.io/v1/Ingress': kindSchema({
    spec: struct({ ingressClassName: string, defaultBackend: any, tls: atomicList(any), rules: atomicList(any) }),
    status: anyStatus,
  }),
  'rbac.authorization.k8s.io/v1/Role': kindSchema({ rules: atomicList(any) }),
  'rbac.authorization.k8s.io/v1/ClusterRole': kindSchema({ rules: atomicList(any), aggregationRule: any }),
  'rbac.authorization.k8s.io/v1/RoleBinding': kindSchema({
    subjects: atomicList(any),
    roleRef: struct({ apiGroup: string, kind: string, name: string }, { req: true, atomic: true }),
  }),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': kindSchema({
    subjects: atomicList(any),
    roleRef: struct({ apiGroup: string, kind: string, name: string }, { req: true, atomic: true }),
  }),
  'apiextensions.k8s.io/v1/CustomResourceDefinition': kindSchema({
    spec: req(
      struct({
        group: string,
        names: req(struct({ plural: string, singular: string, shortNames: atomicList(), kind: string, listKind: string, categories: atomicList() })),
        scope: string,
        versions: atomicList(any),
        conversion: struct({ strategy: string, webhook: any }),
        preserveUnknownFields: bool,
      }),
    ),
    status: anyStatus,
  }),
  'authorization.k8s.io/v1/SelfSubjectAccessReview': kindSchema({
    spec: req(
      struct({
        resourceAttributes: struct({
          namespace: string,
          verb: string,
          group: string,
          version: string,
          resource: string,
          subresource: string,
          name: string,
        }),
        nonResourceAttributes: struct({ path: string, verb: string }),
      }),
    ),
    status: anyStatus,
  }),
  'authorization.k8s.io/v1/SelfSubjectRulesReview': kindSchema({ spec: req(struct({ namespace: string })), status: anyStatus }),
  'authentication.k8s.io/v1/TokenRequest': kindSchema({
    spec: req(struct({ audiences: atomicList(), expirationSeconds: int, boundObjectRef: any })),
    status: anyStatus,
  }),
};
