import { FlotillaError } from '@flotilla/domain';
import { parseForImport } from '../import/import-checks';
import { MemberAddressPolicy, type MemberResolver } from './address-policy';
import { embeddedIpv4, formatIp, parseIp } from './ip-address';

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

const kubeconfig = (server: string) => `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: '${server}', certificate-authority-data: ${CA}}
users:
- name: u
  user: {token: secret-token-value}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
`;

/** Names resolve only through this table: no test depends on the machine's DNS. */
const table = (entries: Record<string, string[]>): MemberResolver => async (host) => {
  const found = entries[host.replace(/\.$/, '')];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

const strict = (o: ConstructorParameters<typeof MemberAddressPolicy>[0] = {}) =>
  new MemberAddressPolicy({ ownAddresses: ['10.1.2.3', '127.0.0.1', '::1'], resolve: table({ 'member.example.com': ['203.0.113.10'], 'rebind.example.com': ['169.254.169.254'], 'loop.example.com': ['127.0.0.1'] }), ...o });

/** The refusal message, through the path the import and the gateway guard take (kubeconfig → policy). */
async function refusal(server: string, policy = strict()): Promise<string> {
  try {
    await parseForImport({ name: 'x', hostId: 'h', kubeconfig: kubeconfig(server), policy });
  } catch (error) {
    expect(error).toBeInstanceOf(FlotillaError);
    expect((error as FlotillaError).reason).toBe('Invalid');
    expect((error as FlotillaError).details.causes?.[0]?.field).toBe('spec.connection.kubeconfig');
    return (error as FlotillaError).message;
  }
  throw new Error(`${server} was accepted`);
}

const accepted = async (server: string, policy = strict()) => (await parseForImport({ name: 'x', hostId: 'h', kubeconfig: kubeconfig(server), policy })).server;

describe('the member address policy, through the kubeconfig path', () => {
  it.each([
    ['https://169.254.169.254', /resolves to 169\.254\.169\.254, a link-local or cloud metadata address \(the instance metadata service/],
    ['https://[::ffff:169.254.169.254]', /resolves to ::ffff:a9fe:a9fe, .*metadata.*carries the IPv4 address 169\.254\.169\.254/],
    ['https://[::ffff:a9fe:a9fe]', /carries the IPv4 address 169\.254\.169\.254/],
    ['https://[::a9fe:a9fe]', /carries the IPv4 address 169\.254\.169\.254/],
    ['https://[::ffff:0:a9fe:a9fe]', /carries the IPv4 address 169\.254\.169\.254/],
    ['https://[64:ff9b::a9fe:a9fe]', /resolves to 64:ff9b::a9fe:a9fe, .*carries the IPv4 address 169\.254\.169\.254/],
    ['https://[64:ff9b::169.254.169.254]:6443', /carries the IPv4 address 169\.254\.169\.254/],
    ['https://[2002:a9fe:a9fe::1]', /6to4|carries the IPv4 address 169\.254\.169\.254/],
    ['https://[fe80::1]', /link-local: 169\.254\.0\.0\/16, fe80::\/10/],
    ['https://[fe90::1]', /link-local: 169\.254\.0\.0\/16, fe80::\/10/],
    ['https://[febf:ffff::1]', /link-local/],
    ['https://100.100.100.200', /resolves to 100\.100\.100\.200, .*metadata/],
    ['https://168.63.129.16', /metadata/],
    ['https://192.0.0.192', /metadata/],
    ['https://[fd00:ec2::254]', /resolves to fd00:ec2::254, .*metadata/],
    ['https://[fd20:ce::254]', /metadata/],
    ['https://169.254.10.1:6443', /link-local/],
    ['http://2852039166', /169\.254\.169\.254/],
    ['https://2852039166', /resolves to 169\.254\.169\.254/],
    ['https://0xa9fea9fe', /resolves to 169\.254\.169\.254/],
    ['https://0xa9.0xfe.0xa9.0xfe', /resolves to 169\.254\.169\.254/],
    ['https://0251.0376.0251.0376', /resolves to 169\.254\.169\.254/],
    ['https://169.254.43518', /resolves to 169\.254\.169\.254/],
    ['https://169.254.169.254.', /resolves to 169\.254\.169\.254/],
    ['https://%31%36%39.254.169.254', /resolves to 169\.254\.169\.254/],
    ['https://metadata.google.internal', /metadata\.google\.internal is a cloud metadata host name/],
    ['https://metadata.google.internal.', /is a cloud metadata host name/],
    ['https://METADATA.Google.Internal..', /is a cloud metadata host name/],
    ['https://rebind.example.com:6443', /server rebind\.example\.com:6443 resolves to 169\.254\.169\.254/],
    ['https://rebind.example.com.:6443', /resolves to 169\.254\.169\.254/],
    ['https://0.0.0.0:6443', /unspecified address/],
    ['https://[::]:6443', /unspecified address/],
    ['https://224.0.0.1', /multicast/],
    ['https://[ff02::1]', /multicast/],
    ['https://255.255.255.255', /reserved or broadcast/],
    ['https://127.0.0.1:6443', /loopback address .*FLOTILLA_ALLOW_LOOPBACK_MEMBERS=true/],
    ['https://0x7f.1:6443', /resolves to 127\.0\.0\.1, a loopback address/],
    ['https://[::1]:6443', /loopback/],
    ['https://[::ffff:127.0.0.1]:6443', /loopback address .*carries the IPv4 address 127\.0\.0\.1/],
    ['https://loop.example.com:6443', /resolves to 127\.0\.0\.1, a loopback address/],
    ['https://10.1.2.3:6443', /an address of this Flotilla host/],
  ])('refuses %s', async (server, message) => {
    expect(await refusal(server)).toMatch(message);
  });

  it('refuses plain http:// unless the operator opts in, since the token would travel in clear text', async () => {
    expect(await refusal('http://10.0.0.1:6443')).toMatch(/plain http:\/\/, which would send the credentials in clear text: use https:\/\/, or an operator can set FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS=true/);
    expect(await accepted('http://10.0.0.1:6443', strict({ allowPlainHttp: true }))).toBe('http://10.0.0.1:6443');
    // The opt-in relaxes the scheme only: metadata stays refused.
    expect(await refusal('http://169.254.169.254', strict({ allowPlainHttp: true }))).toMatch(/metadata/);
  });

  it('accepts ordinary member addresses: public, private, CGNAT, names that resolve to them', async () => {
    expect(await accepted('https://203.0.113.10:6443')).toBe('https://203.0.113.10:6443');
    expect(await accepted('https://10.0.0.1:6443')).toBe('https://10.0.0.1:6443');
    expect(await accepted('https://100.64.0.1:6443')).toBe('https://100.64.0.1:6443');
    expect(await accepted('https://[2001:db8::1]:6443')).toBe('https://[2001:db8::1]:6443');
    expect(await accepted('https://member.example.com:6443/prefix/')).toBe('https://member.example.com:6443/prefix');
    // A name that does not resolve now is not an address refusal: connecting says "cannot connect".
    expect(await accepted('https://nowhere.example.com')).toBe('https://nowhere.example.com');
  });

  it('accepts loopback and this host\'s addresses only when the operator allows them', async () => {
    const dev = strict({ allowLoopback: true });
    expect(await accepted('https://127.0.0.1:6443', dev)).toBe('https://127.0.0.1:6443');
    expect(await accepted('https://loop.example.com:6443', dev)).toBe('https://loop.example.com:6443');
    expect(await accepted('https://10.1.2.3:6443', dev)).toBe('https://10.1.2.3:6443');
    // ...but never metadata, however spelt.
    expect(await refusal('https://[::ffff:a9fe:a9fe]', dev)).toMatch(/metadata/);
    expect(dev.warnings().join('\n')).toMatch(/FLOTILLA_ALLOW_LOOPBACK_MEMBERS=true/);
    expect(strict().warnings()).toEqual([]);
  });

  it('exempts allow-listed hosts and addresses, compared by their bytes', async () => {
    const listed = strict({ allowList: ['169.254.10.1', 'rebind.example.com'] });
    expect(await accepted('https://169.254.10.1:6443', listed)).toBe('https://169.254.10.1:6443');
    expect(await accepted('https://[::ffff:169.254.10.1]:6443', listed)).toBe('https://[::ffff:a9fe:a01]:6443');
    expect(await accepted('https://rebind.example.com.:6443', listed)).toBe('https://rebind.example.com.:6443');
    expect(await refusal('https://169.254.169.254', listed)).toMatch(/metadata/);
    expect(await refusal('https://169.254.10.2', listed)).toMatch(/link-local/);
  });

  it('strips user:password@ from the server, and never echoes it in a refusal', async () => {
    expect(await accepted('https://admin:hunter2@203.0.113.10:6443/')).toBe('https://203.0.113.10:6443');
    const message = await refusal('https://admin:hunter2@169.254.169.254');
    expect(message).toMatch(/metadata/);
    expect(message).not.toMatch(/hunter2|admin/);
    const notUrl = await refusal('https://admin:hunter2@[not a host');
    expect(notUrl).toMatch(/is not a URL/);
    expect(notUrl).not.toMatch(/hunter2/);
  });
});

describe('IP bytes', () => {
  it('un-maps every IPv4-in-IPv6 form and leaves ::1 and :: alone', () => {
    const v4 = (s: string) => embeddedIpv4(parseIp(s)!).map(formatIp);
    expect(v4('::ffff:169.254.169.254')).toEqual(['169.254.169.254']);
    expect(v4('64:ff9b:1::a9fe:a9fe')).toEqual(['169.254.169.254']);
    expect(v4('2002:a9fe:a9fe::')).toEqual(['169.254.169.254']);
    expect(v4('2001:0:a9fe:a9fe::5601:5601')).toEqual(['169.254.169.254', '169.254.169.254']);
    expect(v4('::1')).toEqual([]);
    expect(v4('::')).toEqual([]);
    expect(v4('2001:db8::1')).toEqual([]);
    expect(formatIp(parseIp('[fe80::1%25eth0]'.replace('%25', '%'))!)).toBe('fe80:0:0:0:0:0:0:1');
  });
});
