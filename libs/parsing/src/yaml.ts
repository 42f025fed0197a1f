import { Composer, isMap, isScalar, isSeq, LineCounter, Parser, type CST, type Document, type Node } from 'yaml';
import { checkSize, ParseLimitError, resolveLimits, type ParseLimits } from './limits';
import { prescanYaml } from './yaml-prescan';

/**
 * Parses a YAML stream under bounds, in four linear steps, each refusing with a ParseLimitError:
 * 1. size, before anything else;
 * 2. a pre-scan of the characters (depth, documents, structure) before the YAML library sees them,
 *    so a megabyte of `[` is refused after 65 characters and the parser never builds more than
 *    `maxNodes` nodes;
 * 3. the parser's syntax tree, measured exactly (depth, nodes, aliases) without recursion, before
 *    the library's recursive composer runs;
 * 4. the documents: syntax errors (with line and column), duplicate keys (in linear time: the
 *    library's own `uniqueKeys` check is quadratic), non-scalar keys, then conversion to plain data.
 * Returns the plain value of each non-empty document (at most `maxDocuments`).
 */
export function parseYamlDocumentsBounded(text: string, what: string, limits: Partial<ParseLimits> = {}): unknown[] {
  const bounds = resolveLimits(limits);
  checkSize(text, what, bounds.maxBytes);
  prescanYaml(text, what, bounds);

  const lineCounter = new LineCounter();
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  measureSyntaxTree(tokens, what, bounds);

  const composer = new Composer({ uniqueKeys: false, prettyErrors: false });
  const documents = Array.from(composer.compose(tokens, false, text.length)).filter((d) => d.errors.length > 0 || !isEmpty(d.contents));
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, col };
  };
  for (const doc of documents) {
    const error = doc.errors[0];
    if (error) {
      const pos = at(error.pos[0]);
      throw new ParseLimitError('syntax', what, `is not valid YAML (line ${pos.line}, column ${pos.col}): ${firstLine(error.message)}`, pos);
    }
  }
  if (documents.length > bounds.maxDocuments) {
    throw new ParseLimitError('documents', what, `must hold at most ${bounds.maxDocuments} YAML document${bounds.maxDocuments === 1 ? '' : 's'}, found ${documents.length}`, {
      limit: bounds.maxDocuments,
      found: documents.length,
    });
  }
  return documents.map((doc) => {
    checkKeys(doc, what, at);
    try {
      return doc.toJS({ maxAliasCount: bounds.maxAliases });
    } catch (error) {
      // Only reachable with maxAliases > 0: the library's own bound on what aliases expand to.
      throw new ParseLimitError('aliases', what, `expands its YAML aliases beyond the limit: ${firstLine((error as Error).message)}`, { limit: bounds.maxAliases });
    }
  });
}

/**
 * One YAML document under bounds (see parseYamlDocumentsBounded); `null` for an empty text.
 * More than one non-empty document is refused ("must hold at most 1 YAML document, found 2").
 */
export function parseYamlBounded(text: string, what: string, limits: Partial<ParseLimits> = {}): unknown {
  const [value] = parseYamlDocumentsBounded(text, what, { ...limits, maxDocuments: 1 });
  return value ?? null;
}

/** Exact depth, node and alias counts over the parser's tokens, with an explicit stack (no recursion). */
function measureSyntaxTree(tokens: CST.Token[], what: string, bounds: ParseLimits): void {
  let nodes = 0;
  let aliases = 0;
  const stack: [CST.Token, number][] = [];
  for (const token of tokens) if (token.type === 'document' && token.value) stack.push([token.value, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    switch (token.type) {
      case 'alias':
        if (++aliases > bounds.maxAliases) {
          throw new ParseLimitError(
            'aliases',
            what,
            bounds.maxAliases === 0 ? 'uses YAML aliases, which are not accepted: write each value out in full' : `uses more than ${bounds.maxAliases} YAML aliases`,
            { limit: bounds.maxAliases },
          );
        }
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection':
        if (depth + 1 > bounds.maxDepth) throw new ParseLimitError('depth', what, `nests deeper than ${bounds.maxDepth} levels`, { limit: bounds.maxDepth });
        for (const item of token.items) {
          if (item.key) stack.push([item.key, depth + 1]);
          if (item.value) stack.push([item.value, depth + 1]);
        }
        break;
      default:
        break;
    }
    if (++nodes > bounds.maxNodes) {
      throw new ParseLimitError('nodes', what, `has more than ${bounds.maxNodes} YAML nodes (collections, keys and values): send a smaller document`, { limit: bounds.maxNodes });
    }
  }
}

/** Refuses duplicate and non-scalar mapping keys, in time linear in the number of keys. */
function checkKeys(doc: Document.Parsed, what: string, at: (offset: number) => { line: number; col: number }): void {
  const stack: Node[] = doc.contents ? [doc.contents] : [];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        if (key !== null && !isScalar(key)) {
          const pos = at(key.range?.[0] ?? 0);
          throw new ParseLimitError('syntax', what, `is not valid here (line ${pos.line}, column ${pos.col}): a mapping key must be a string, not a collection`, pos);
        }
        const name = key === null ? '' : String(key.value);
        if (seen.has(name)) {
          const pos = at(key?.range?.[0] ?? 0);
          throw new ParseLimitError('syntax', what, `is not valid YAML (line ${pos.line}, column ${pos.col}): the key "${excerpt(name)}" appears twice in one mapping`, pos);
        }
        seen.add(name);
        if (pair.value) stack.push(pair.value as Node);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item as Node);
    }
  }
}

/** A document with nothing in it (`a: 1\n---\n` holds one such after the marker); an explicit `null` is not empty. */
function isEmpty(contents: Node | null): boolean {
  return contents === null || (isScalar(contents) && contents.value === null && contents.source === '');
}

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0]!;
  return excerpt(line, 160);
}

function excerpt(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
