/**
 * @flotilla/kube-emulator: test tooling only (tests, bench/, tools/), never a run-time dependency.
 *
 * Layering inside src/ (a folder imports only from folders below it; layering.spec.ts checks it):
 *
 *   emulator.ts, control.ts, kubectl.ts, kubeconfig.ts, index.ts   the public face
 *     server/     HTTP and TLS: router, auth, discovery, list/watch, subresources
 *       cluster/  a virtual cluster: identity and flavours, credentials, faults, emulated controllers
 *         api/      the API server's rules: store, kinds, RBAC, resources, errors, tables
 *           patch/  JSON, merge and strategic merge patches
 *             model/  the built-in kinds' schemas
 *   (JSON values, the schema model, field sets, managedFields and server-side apply come from
 *   @flotilla/apply, which Flotilla's gateway shares)
 *         pki/      CA, serving and client certificates (used by cluster/)
 *   testing/    helpers for the emulator's own specs (imports model/ only; only specs import it)
 *
 * The API state calls back into the cluster through the ApiHooks interface (api/apiserver.ts),
 * never by importing it.
 */
export { KubeEmulator, ClusterHandle } from './emulator';
export type { EmulatorOptions, CredentialUser, ErrorRateOptions } from './emulator';
export type { ClusterSpec, UserKind, HealthEndpoint, StreamRecord, RequestRecord } from './cluster/cluster';
export type { PeerRecord } from './server/peers';
export type { Flavour, NodeSpec } from './cluster/flavours';
export type { WorkloadOptions } from './cluster/workloads';
export { startControlServer } from './control';
export type { ControlServer } from './control';
export { ensureKubectl, followOutput, kubectl, kubectlSpawn, writeKubeconfig, KUBECTL_VERSION } from './kubectl';
export type { FollowedOutput, KubectlOptions, KubectlResult } from './kubectl';
export { applyStrategicMergePatch } from './patch/strategic-merge';
export { applyMergePatch } from './patch/merge-patch';
export { applyJsonPatch } from './patch/json-patch';
export { parseLabelSelector, matchesLabels } from './api/selectors';
export { createCertificate, keyPem, newClientCert, newClusterPki, newKeyPair } from './pki/certs';
export type { CertOptions, ClusterPki, DistinguishedName, KeyPair } from './pki/certs';
