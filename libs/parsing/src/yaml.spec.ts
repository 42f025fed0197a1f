import { parse, stringify } from 'yaml';
import { ParseLimitError } from './limits';
import { parseYamlBounded, parseYamlDocumentsBounded } from './yaml';
import { prescanYaml } from './yaml-prescan';
import { thrownBy } from '@flotilla/testing';

const MiB = 1024 * 1024;

const refusal = (fn: () => unknown): ParseLimitError => thrownBy(fn, ParseLimitError);

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://203.0.113.10:6443
    certificate-authority-data: ${Buffer.from('-----BEGIN CERTIFICATE-----\n').toString('base64')}
users:
- name: u
  user: {token: abc}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
`;

describe('parseYamlBounded', () => {
  it('reads ordinary documents as the yaml library does', () => {
    expect(parseYamlBounded(kubeconfig, 'the kubeconfig')).toEqual(parse(kubeconfig));
    const cluster = 'metadata:\n  name: a\n  labels: {env: prod}\nspec:\n  description: "a [beta] cluster, # not a comment"\n  list:\n  - - x\n    - y\n  text: |\n    {[ unbalanced\n';
    expect(parseYamlBounded(cluster, 'the body')).toEqual(parse(cluster));
    expect(parseYamlBounded('', 'the body')).toBeNull();
    expect(parseYamlBounded('---\na: 1\n---\n', 'the body')).toEqual({ a: 1 });
    expect(parseYamlBounded('--- null\n', 'the body')).toBeNull();
    expect(parseYamlBounded('%YAML 1.2\n---\na: 1\n', 'the body')).toEqual({ a: 1 });
  });

  it('keeps __proto__ an own key instead of a prototype', () => {
    const value = parseYamlBounded('__proto__: {polluted: true}\n', 'the body') as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['3,000 [', '['.repeat(3000), 'depth'],
    ['100,000 [', '['.repeat(100_000), 'nodes'],
    ['1 MiB of [', '['.repeat(MiB), 'nodes'],
    ['1 MiB of {', '{'.repeat(MiB), 'nodes'],
    ['65 nested flow collections', `${'['.repeat(65)}${']'.repeat(65)}`, 'depth'],
    ['deep block indentation', Array.from({ length: 100 }, (_, i) => `${' '.repeat(i)}a:`).join('\n'), 'depth'],
    ['compact block sequences', `${'- '.repeat(100)}x`, 'depth'],
    ['flow nesting inside block nesting', `${Array.from({ length: 40 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} ${'['.repeat(30)}`, 'depth'],
    ['a billion laughs', 'a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n', 'aliases'],
    ['one alias', 'a: &a x\nb: *a\n', 'aliases'],
    ['two documents', 'a: 1\n---\nb: 2\n', 'documents'],
    ['100,000 documents', '---\na: 1\n'.repeat(100_000), 'nodes'],
    ['100,000 keys', Array.from({ length: 100_000 }, (_, i) => `k${i}: v`).join('\n'), 'nodes'],
    ['3 MiB of ]', `[${']'.repeat(3 * MiB - 8)}`, 'nodes'],
    ['1.5 million empty strings', '""'.repeat(1_500_000), 'nodes'],
    ['a million tags', `${'!a '.repeat(MiB / 3)}x`, 'nodes'],
    ['3 MiB of line breaks', `a: x${'\n'.repeat(3 * MiB - 8)}`, 'nodes'],
    ['more than 3 MiB', `a: ${'x'.repeat(3 * MiB)}`, 'size'],
    ['duplicate keys', 'a: 1\nb: 2\na: 3\n', 'syntax'],
    ['a collection as a key', '? [a]\n: 1\n', 'syntax'],
    ['broken syntax', 'a: [1, 2\n', 'syntax'],
  ])('refuses %s, every time it is sent', (_name, text, kind) => {
    for (let i = 0; i < 3; i++) expect(refusal(() => parseYamlBounded(text, 'the body')).kind).toBe(kind);
  });

  it('names the input, the limit and the position in its messages, and never echoes a long input', () => {
    const deep = refusal(() => parseYamlBounded('['.repeat(3000), 'the request body'));
    expect(deep.message).toBe('the request body nests deeper than 64 levels');
    expect(deep.facts.limit).toBe(64);
    const syntax = refusal(() => parseYamlBounded(`a: 1\nb: [x, ${'y'.repeat(10_000)}\n`, 'the kubeconfig'));
    expect(syntax.message).toMatch(/^the kubeconfig is not valid YAML \(line \d+, column \d+\): /);
    expect(syntax.message.length).toBeLessThan(300);
    const dup = refusal(() => parseYamlBounded('a: 1\na: 2\n', 'the body'));
    expect(dup.message).toBe('the body is not valid YAML (line 2, column 1): the key "a" appears twice in one mapping');
    const docs = refusal(() => parseYamlBounded('a: 1\n---\nb: 2\n', 'the body'));
    expect(docs.message).toBe('the body must hold at most 1 YAML document, found 2');
    expect(docs.facts).toEqual({ limit: 1, found: 2 });
    const size = refusal(() => parseYamlBounded('x'.repeat(2000), 'the body', { maxBytes: 1024 }));
    expect(size.message).toBe('the body is larger than 1 KiB');
  });

  it('takes caller limits: aliases, documents, depth', () => {
    expect(parseYamlBounded('a: &a x\nb: *a\n', 'the body', { maxAliases: 5 })).toEqual({ a: 'x', b: 'x' });
    expect(parseYamlDocumentsBounded('a: 1\n---\nb: 2\n', 'the stream', { maxDocuments: 2 })).toEqual([{ a: 1 }, { b: 2 }]);
    expect(refusal(() => parseYamlBounded('a: [[[x]]]', 'the body', { maxDepth: 3 })).kind).toBe('depth');
    expect(parseYamlBounded('a: [[x]]', 'the body', { maxDepth: 3 })).toEqual({ a: [['x']] });
  });

  it('finds the depth the pre-scan cannot see (a quote it misreads) on the syntax tree, before composing', () => {
    // Line 2 continues the plain scalar `foo`, so its quote opens nothing: the brackets after it are real.
    const tricky = `a: foo\n  "\nb: ${'['.repeat(70)}`;
    expect(refusal(() => parseYamlBounded(tricky, 'the body')).kind).toBe('depth');
  });

  it('measures ordinary documents at their real depth or deeper (the pre-scan never refuses what it should not)', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const make = (depth: number): unknown => {
      if (depth === 0 || random() < 0.3) return random() < 0.5 ? `v ${Math.floor(random() * 100)} [x]` : Math.floor(random() * 1000);
      if (random() < 0.5) return Array.from({ length: 1 + Math.floor(random() * 2) }, () => make(depth - 1));
      return Object.fromEntries(Array.from({ length: 1 + Math.floor(random() * 2) }, (_, i) => [`k${i}`, make(depth - 1)]));
    };
    const depthOf = (value: unknown): number =>
      typeof value === 'object' && value !== null ? 1 + Math.max(0, ...Object.values(value as object).map(depthOf)) : 0;
    for (let i = 0; i < 200; i++) {
      const value = { root: make(12) };
      for (const text of [stringify(value), stringify(value, { collectionStyle: 'flow' }), JSON.stringify(value, null, 1)]) {
        expect(parseYamlBounded(text, 'the body', { maxNodes: 1e6 })).toEqual(value);
        const shape = prescanYaml(text, 'the body', { maxDepth: 1000, maxNodes: 1e9 });
        expect(shape.depth).toBeGreaterThanOrEqual(depthOf(value));
        expect(shape.depth).toBeLessThanOrEqual(2 * depthOf(value) + 2);
      }
    }
  });
});
