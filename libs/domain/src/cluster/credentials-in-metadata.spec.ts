import { ErrorReason, FlotillaError } from '../errors/flotilla-error';
import { LAST_APPLIED_ANNOTATION, credentialDoor, credentialSecrets, scrubCredentialsFromMetadata, scrubCredentialsFromPatch } from './credentials-in-metadata';

const TOKEN = 'SCRUB-SECRET-TOKEN-0123456789';
const KUBECONFIG = `apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster: {server: "https://203.0.113.10:6443"}\nusers:\n- name: u\n  user: {token: "${TOKEN}"}\ncontexts:\n- name: m\n  context: {cluster: m, user: u}\ncurrent-context: m\n`;
const JWT = 'eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJlLWJ5dGVz';

/** kubectl's last-applied-configuration of a Cluster file: compact JSON of the whole object. */
const lastApplied = (connection: Record<string, unknown>) =>
  JSON.stringify({
    apiVersion: 'cluster.kubesphere.io/v1alpha1',
    kind: 'Cluster',
    metadata: { annotations: {}, labels: { env: 'prod' }, name: 'm1' },
    spec: { connection: { type: 'direct', ...connection }, provider: 'kubeadm' },
  });

function refusal(run: () => unknown): FlotillaError {
  try {
    run();
  } catch (error) {
    if (error instanceof FlotillaError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('credentials in labels and annotations', () => {
  it('strips the kubeconfig and token from last-applied-configuration, keeps the rest, and says what it removed', () => {
    const annotations = { [LAST_APPLIED_ANNOTATION]: lastApplied({ kubeconfig: KUBECONFIG, token: TOKEN }), team: 'a' };
    const out = scrubCredentialsFromMetadata('m1', { env: 'prod' }, annotations);
    const stored = JSON.parse(out.annotations![LAST_APPLIED_ANNOTATION]!);
    expect(stored.spec.connection).toEqual({ type: 'direct' });
    expect(stored.metadata.labels).toEqual({ env: 'prod' });
    expect(out.annotations!.team).toBe('a');
    expect(JSON.stringify(out.annotations)).not.toContain(TOKEN);
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toContain(`metadata.annotations[${LAST_APPLIED_ANNOTATION}]: removed spec.connection.kubeconfig, spec.connection.token`);
    expect(out.warnings[0]).toContain(credentialDoor('m1'));
    expect(out.warnings[0]).not.toContain(TOKEN);
  });

  it('stores the stripped last-applied-configuration exactly as kubectl writes the same file without the credential (trailing newline kept), so the next apply finds nothing to change', () => {
    const withNewline = `${lastApplied({ kubeconfig: KUBECONFIG })}\n`;
    const out = scrubCredentialsFromMetadata('m1', undefined, { [LAST_APPLIED_ANNOTATION]: withNewline });
    expect(out.annotations![LAST_APPLIED_ANNOTATION]).toBe(`${lastApplied({})}\n`);
  });

  it('strips a base64 kubeconfig too, and credential fields in YAML values and in Lists of clusters', () => {
    const b64 = Buffer.from(KUBECONFIG).toString('base64');
    const yaml = `apiVersion: cluster.kubesphere.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: m1\nspec:\n  connection:\n    type: direct\n    kubeconfig: ${b64}\n`;
    const list = JSON.stringify({ kind: 'List', items: [JSON.parse(lastApplied({ kubeconfig: b64 }))] });
    const out = scrubCredentialsFromMetadata('m1', undefined, { [LAST_APPLIED_ANNOTATION]: lastApplied({ kubeconfig: b64 }), 'example.com/export': yaml, 'example.com/list': list });
    expect(out.warnings.map((w) => w.split(':')[0])).toEqual(['metadata.annotations[kubectl.kubernetes.io/last-applied-configuration]', 'metadata.annotations[example.com/export]', 'metadata.annotations[example.com/list]']);
    expect(out.warnings[2]).toContain('removed items[0].spec.connection.kubeconfig');
    for (const value of Object.values(out.annotations!)) expect(value).not.toContain(b64.slice(0, 40));
    expect(JSON.parse(out.annotations!['example.com/export']!).spec.connection).toEqual({ type: 'direct' });
  });

  it('leaves values without credentials byte for byte as they were, with no warning', () => {
    const annotations = { [LAST_APPLIED_ANNOTATION]: `${lastApplied({})}\n`, note: 'a: b\nc: d', plain: 'hello' };
    expect(scrubCredentialsFromMetadata('m1', { env: 'prod' }, annotations)).toEqual({ annotations, warnings: [] });
  });

  it('refuses a label or annotation whose value is a credential, naming the field and never the value', () => {
    const cases: [Record<string, string> | undefined, Record<string, string> | undefined, string, string][] = [
      [undefined, { pasted: KUBECONFIG }, 'metadata.annotations[pasted]', 'a kubeconfig'],
      [undefined, { pasted: Buffer.from(KUBECONFIG).toString('base64') }, 'metadata.annotations[pasted]', 'a kubeconfig'],
      [undefined, { bearer: JWT }, 'metadata.annotations[bearer]', 'a bearer token (JWT)'],
      [undefined, { note: `token is ${TOKEN}` }, 'metadata.annotations[note]', "this cluster's own credential"],
      [{ owner: TOKEN }, undefined, 'metadata.labels[owner]', "this cluster's own credential"],
      [undefined, { 'example.com/json': JSON.stringify({ spec: { other: { secret: JWT } } }) }, 'metadata.annotations[example.com/json]', 'a bearer token (JWT)'],
    ];
    for (const [labels, annotations, field, what] of cases) {
      const error = refusal(() => scrubCredentialsFromMetadata('m1', labels, annotations, credentialSecrets({ kubeconfig: KUBECONFIG })));
      expect(error.reason).toBe(ErrorReason.Invalid);
      expect(error.details.causes).toEqual([{ reason: 'FieldValueForbidden', field, message: expect.stringContaining(`holds ${what}`) }]);
      expect(error.message).toContain(credentialDoor('m1'));
      expect(error.message).not.toContain(TOKEN);
      expect(error.message).not.toContain(JWT);
    }
  });

  it('finds the secrets of a kubeconfig: the text, and each user token, password and client key', () => {
    const kc = `${KUBECONFIG}`.replace(`token: "${TOKEN}"`, `token: "${TOKEN}", password: "a-password-of-16+", client-key-data: "S0VZLURBVEEtMDEyMzQ1Njc4OQ=="`);
    expect(credentialSecrets({ kubeconfig: kc, token: 'short' }).sort()).toEqual([kc.trim(), TOKEN, 'a-password-of-16+', 'S0VZLURBVEEtMDEyMzQ1Njc4OQ=='].sort());
  });
});

describe('credentials in what a patch writes to labels and annotations', () => {
  it('scrubs a merge patch and each JSON patch op that lands in metadata, leaving other ops alone', () => {
    const la = lastApplied({ kubeconfig: KUBECONFIG });
    const merge = scrubCredentialsFromPatch('m1', 'merge', { metadata: { annotations: { [LAST_APPLIED_ANNOTATION]: la, gone: null } }, spec: { connection: { kubeconfig: KUBECONFIG } } });
    const patched = merge.patch as { metadata: { annotations: Record<string, string | null> }; spec: unknown };
    expect(JSON.parse(patched.metadata.annotations[LAST_APPLIED_ANNOTATION]!).spec.connection).toEqual({ type: 'direct' });
    expect(patched.metadata.annotations.gone).toBeNull();
    // The credential field itself is the registry's to compare: a patch of it is not scrubbed here.
    expect(patched.spec).toEqual({ connection: { kubeconfig: KUBECONFIG } });
    expect(merge.warnings).toHaveLength(1);

    const ops = [
      { op: 'add', path: '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration', value: la },
      { op: 'replace', path: '/metadata/annotations', value: { a: la } },
      { op: 'add', path: '/metadata', value: { name: 'm1', annotations: { b: la } } },
      { op: 'replace', path: '', value: { metadata: { name: 'm1', annotations: { c: la } } } },
      { op: 'test', path: '/metadata/annotations/d', value: la },
    ];
    const json = scrubCredentialsFromPatch('m1', 'json', structuredClone(ops));
    expect(json.warnings).toHaveLength(4);
    const out = json.patch as { value: unknown }[];
    expect(JSON.stringify(out.slice(0, 4))).not.toContain(TOKEN);
    expect(out[4]).toEqual(ops[4]);
  });

  it('refuses a patch that writes a credential as a label or annotation value', () => {
    expect(refusal(() => scrubCredentialsFromPatch('m1', 'json', [{ op: 'add', path: '/metadata/annotations/x', value: JWT }])).details.causes?.[0]?.field).toBe('metadata.annotations[x]');
    expect(refusal(() => scrubCredentialsFromPatch('m1', 'merge', { metadata: { annotations: { y: KUBECONFIG } } })).details.causes?.[0]?.field).toBe('metadata.annotations[y]');
  });
});
