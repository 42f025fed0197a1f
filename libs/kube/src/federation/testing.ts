import { FEDERATED_OBJECT_ANNOTATION, HASH_ANNOTATION, MANAGED_BY_LABEL, canonicalHash } from '@flotilla/domain';

/**
 * A per-cluster object as the domain's memberObjectFor makes one, for the member side's specs:
 * ownership label and annotations, and a hash of the rest.
 */
export function placed(apiVersion: string, kind: string, ns: string | undefined, name: string, content: Record<string, unknown>, fed = `federatedconfigmaps.types.kubefed.io/${ns ?? ''}/${name}`): Record<string, unknown> {
  const base = {
    apiVersion,
    kind,
    metadata: { name, ...(ns ? { namespace: ns } : {}), labels: { [MANAGED_BY_LABEL]: ns ? `${ns}.${name}` : name }, annotations: { [FEDERATED_OBJECT_ANNOTATION]: fed } },
    ...content,
  };
  const hash = canonicalHash(base);
  return { ...base, metadata: { ...base.metadata, annotations: { ...base.metadata.annotations, [HASH_ANNOTATION]: hash } } };
}

export function hashOf(o: Record<string, unknown>): string {
  return ((o.metadata as { annotations: Record<string, string> }).annotations[HASH_ANNOTATION])!;
}
