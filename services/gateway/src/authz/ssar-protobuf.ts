import { PROTOBUF_MEDIA_TYPE, decodeKubernetesProtobuf } from '../http/kube-protobuf';

/**
 * A SelfSubjectAccessReview sent as Kubernetes protobuf (application/vnd.kubernetes.protobuf):
 * kubectl's typed clients send it that way, so `kubectl auth can-i` against Flotilla's own API
 * needs it. Decoded by the gateway's one bounded protobuf decoder (http/kube-protobuf.ts, over the
 * wire reader in http/protobuf-wire.ts); the caller bounds the body's size (64 KiB).
 */
export { PROTOBUF_MEDIA_TYPE };

const REVIEW = { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview' };

/** The review as the JSON form the SSAR handler reads (apiVersion, kind, spec). */
export function decodeSelfSubjectAccessReview(raw: Buffer): unknown {
  const { metadata: _metadata, ...review } = decodeKubernetesProtobuf(raw, REVIEW);
  return { spec: {}, ...review };
}
