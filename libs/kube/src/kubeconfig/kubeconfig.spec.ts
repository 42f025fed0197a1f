import { FlotillaError } from '@flotilla/domain';
import { MemberAddressPolicy } from '../net/address-policy';
import { checkServerAddress, parseKubeconfig } from './kubeconfig';

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

function kubeconfig(user: string, cluster = `certificate-authority-data: ${CA}`): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://203.0.113.10:6443
    ${cluster}
users:
- name: u
  user:
${user.replace(/^/gm, '    ')}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
`;
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FlotillaError);
    expect((error as FlotillaError).details.causes?.[0]?.field).toBe('spec.connection.kubeconfig');
    return (error as FlotillaError).message;
  }
  throw new Error('accepted');
}

describe('parseKubeconfig', () => {
  it('resolves the current context to a server, CA and token', () => {
    const r = parseKubeconfig(kubeconfig('token: abc'));
    expect(r).toMatchObject({ contextName: 'ctx', server: 'https://203.0.113.10:6443', auth: { type: 'token', token: 'abc' }, insecureSkipTlsVerify: false });
    expect(r.caData).toContain('BEGIN CERTIFICATE');
  });

  it.each([
    ['exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws, args: [eks, get-token]}', /users\[0\]\.user\.exec is an exec credential plugin/],
    ['auth-provider: {name: gcp}', /auth-provider is refused/],
    ['client-certificate: /etc/kubernetes/pki/admin.crt', /client-certificate is a file path/],
    ['client-key: /root/.ssh/id_rsa', /client-key is a file path/],
    ['tokenFile: /var/run/secrets/token', /tokenFile is a file path/],
  ])('refuses a hostile user entry: %s', (user, message) => {
    expect(refusal(() => parseKubeconfig(kubeconfig(user)))).toMatch(message);
  });

  it('refuses file references, insecure TLS and proxies in the cluster entry unless allowed', () => {
    expect(refusal(() => parseKubeconfig(kubeconfig('token: a', 'certificate-authority: /etc/ca.crt')))).toMatch(/certificate-authority is a file path/);
    expect(refusal(() => parseKubeconfig(kubeconfig('token: a', 'insecure-skip-tls-verify: true')))).toMatch(/insecure-skip-tls-verify is refused/);
    expect(parseKubeconfig(kubeconfig('token: a', 'insecure-skip-tls-verify: true'), { allowInsecureSkipTlsVerify: true }).insecureSkipTlsVerify).toBe(true);
    expect(refusal(() => parseKubeconfig(kubeconfig('token: a', 'proxy-url: http://10.0.0.1:3128')))).toMatch(/proxy-url is refused/);
  });

  it('refuses alias bombs, several documents and oversized input', () => {
    const bomb = `a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n${kubeconfig('token: a')}`;
    expect(refusal(() => parseKubeconfig(bomb))).toMatch(/anchors and aliases/);
    expect(refusal(() => parseKubeconfig(`${kubeconfig('token: a')}---\n${kubeconfig('token: b')}`))).toMatch(/exactly one YAML document, found 2/);
    expect(refusal(() => parseKubeconfig(`# ${'x'.repeat(1024 * 1024 + 1)}`))).toMatch(/larger than 1 MiB/);
    expect(refusal(() => parseKubeconfig('clusters: [\n'))).toMatch(/not valid YAML \(line/);
  });

  it.each([
    ['1 MiB of [', () => '['.repeat(1024 * 1024 - 1), /spec\.connection\.kubeconfig: has more than 5000 YAML lines and structural elements/],
    ['3,000 [', () => '['.repeat(3000), /spec\.connection\.kubeconfig: nests deeper than 64 levels/],
    ['deep block nesting', () => Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}a:`).join('\n'), /nests deeper than 64 levels/],
    ['one alias', () => `x: &x a\ny: *x\n${kubeconfig('token: a')}`, /anchors and aliases/],
    ['duplicate keys', () => `${kubeconfig('token: a')}kind: Config\n`, /the key "kind" appears twice/],
  ])('refuses %s with an Invalid error naming the field and the limit, every time', (_name, text, message) => {
    for (let i = 0; i < 3; i++) expect(refusal(() => parseKubeconfig(text()))).toMatch(message);
  });

  it('picks the named context, and says which exist when it is missing', () => {
    expect(refusal(() => parseKubeconfig(kubeconfig('token: a'), { context: 'other' }))).toMatch(/no context named "other"; it has: ctx/);
  });
});

describe('checkServerAddress', () => {
  it('refuses link-local and cloud metadata addresses unless allow-listed', async () => {
    await expect(checkServerAddress('https://169.254.169.254')).rejects.toThrow(/link-local or cloud metadata/);
    await expect(checkServerAddress('https://[fd00:ec2::254]:443')).rejects.toThrow(/link-local or cloud metadata/);
    await expect(checkServerAddress('https://169.254.169.254', ['169.254.169.254'])).resolves.toEqual(['169.254.169.254']);
    // Loopback is refused unless the operator allows it (FLOTILLA_ALLOW_LOOPBACK_MEMBERS), as tests and npm start do.
    await expect(checkServerAddress('https://127.0.0.1:6443')).rejects.toThrow(/loopback address/);
    await expect(checkServerAddress('https://127.0.0.1:6443', new MemberAddressPolicy({ allowLoopback: true }))).resolves.toEqual(['127.0.0.1']);
  });
});
