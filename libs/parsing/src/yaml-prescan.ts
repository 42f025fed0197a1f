import { ParseLimitError, type ParseLimits } from './limits';

/**
 * What a YAML text looks like, measured in one pass over its characters (no regular expressions, no
 * allocation per character) before the YAML library sees it.
 */
export interface YamlShape {
  /** Deepest nesting seen: block levels (indentation and `- `/`? ` indicators) plus open flow collections. */
  depth: number;
  /** Documents with content (separated by `---` or `...` lines). */
  documents: number;
  /** Lines and structural characters (brackets, braces, commas, quotes, `&`, `*`, `!`, and `-`, `?`, `:` before a blank): bounds what the parser must build. */
  structure: number;
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const HASH = 0x23;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const COMMA = 0x2c;
const COLON = 0x3a;
const DASH = 0x2d;
const QUESTION = 0x3f;
const DOT = 0x2e;
const PIPE = 0x7c;
const GT = 0x3e;
const AMP = 0x26;
const STAR = 0x2a;
const BANG = 0x21;
const PERCENT = 0x25;
const BOM = 0xfeff;

const isBlank = (c: number) => c === SPACE || c === TAB;
const isBreakOrEnd = (c: number) => Number.isNaN(c) || c === LF || c === CR;
const isBlankOrEnd = (c: number) => isBlank(c) || isBreakOrEnd(c);
const isFlowIndicator = (c: number) => c === COMMA || c === LBRACKET || c === RBRACKET || c === LBRACE || c === RBRACE;

/**
 * Counts the structural characters of a text regardless of context (inside quotes and comments too,
 * so nothing can be hidden from it). Stops counting past `max`.
 */
export function countStructure(text: string, max: number): number {
  let count = 0;
  for (let i = 0; i < text.length && count <= max; i++) {
    const c = text.charCodeAt(i);
    if (c === LBRACKET || c === LBRACE || c === RBRACKET || c === RBRACE || c === COMMA || c === AMP || c === STAR || c === BANG || c === DQUOTE || c === SQUOTE || c === LF) count++;
    else if ((c === DASH || c === QUESTION || c === COLON) && isBlankOrEnd(text.charCodeAt(i + 1))) count++;
  }
  return count;
}

/**
 * Measures the nesting depth and the documents of a YAML text in one linear pass, and throws
 * ParseLimitError as soon as the depth or the structure limit is crossed (so a megabyte of `[` is
 * refused after 65 characters). Documents are counted exactly after parsing: each needs a line, so
 * the structure limit bounds them here.
 *
 * It reads YAML closely enough to skip quoted scalars, comments and block scalars, so ordinary
 * documents measure what they are; it is a fast first filter, not the last word: the exact depth,
 * node and alias counts are taken again on the parser's syntax tree before anything recursive runs.
 */
export function prescanYaml(text: string, what: string, limits: Pick<ParseLimits, 'maxDepth' | 'maxNodes'>): YamlShape {
  const { maxDepth, maxNodes } = limits;
  const structure = countStructure(text, maxNodes);
  if (structure > maxNodes) {
    throw new ParseLimitError('nodes', what, `has more than ${maxNodes} YAML lines and structural elements (entries, collections, anchors, tags): send a smaller document`, { limit: maxNodes });
  }

  const n = text.length;
  const tooDeep = () => new ParseLimitError('depth', what, `nests deeper than ${maxDepth} levels`, { limit: maxDepth });
  /** Indentation columns of the open block levels. */
  const block: number[] = [];
  let flow = 0;
  let depth = 0;
  let documents = 0;
  let docHasContent = false;
  /** Parent indentation of the block scalar whose content lines are being skipped, or -1. */
  let blockScalarParent = -1;
  let pendingBlockScalar = -1;
  let i = text.charCodeAt(0) === BOM ? 1 : 0;

  const note = (level: number) => {
    if (level > depth) {
      depth = level;
      if (depth > maxDepth) throw tooDeep();
    }
  };
  const content = () => {
    if (!docHasContent) {
      docHasContent = true;
      documents++;
    }
  };
  /** Skips a quoted scalar starting at `i` (the quote); returns the index after its closing quote. */
  const skipQuoted = (start: number): number => {
    const quote = text.charCodeAt(start);
    let j = start + 1;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (quote === DQUOTE && c === BACKSLASH) j += 2;
      else if (c === quote) {
        if (quote === SQUOTE && text.charCodeAt(j + 1) === SQUOTE) j += 2;
        else return j + 1;
      } else j++;
    }
    return n;
  };
  const skipToLineEnd = (from: number): number => {
    let j = from;
    while (j < n && text.charCodeAt(j) !== LF) j++;
    return j;
  };

  while (i < n) {
    // ---- at the start of a line
    let indent = 0;
    while (text.charCodeAt(i + indent) === SPACE) indent++;
    const first = i + indent;
    const c0 = text.charCodeAt(first);
    const blankLine = first >= n || isBreakOrEnd(c0) || c0 === HASH || (c0 === TAB && isBreakOrEnd(text.charCodeAt(skipBlanks(text, first))));
    if (indent === 0 && c0 === PERCENT && !docHasContent && flow === 0) {
      // A directive (%YAML, %TAG) before a document's `---`.
      i = skipToLineEnd(i) + 1;
      continue;
    }
    if (indent === 0 && isDocumentMarker(text, i)) {
      // `---` or `...` at column 0 ends the document (and any block scalar or open collection in it).
      docHasContent = false;
      block.length = 0;
      flow = 0;
      blockScalarParent = -1;
      pendingBlockScalar = -1;
      // A node may follow on the same line (`--- |`, `--- {a: 1}`): scan the rest as a line's content.
      i = scanLine(i + 3, i, -1);
      continue;
    }
    if (blockScalarParent >= 0) {
      if (blankLine || indent > blockScalarParent) {
        i = skipToLineEnd(i) + 1;
        continue;
      }
      blockScalarParent = -1;
    }
    if (blankLine) {
      i = skipToLineEnd(i) + 1;
      continue;
    }
    if (flow === 0) {
      while (block.length > 0 && block[block.length - 1]! >= indent) block.pop();
      block.push(indent);
      note(block.length);
    }
    i = scanLine(first, i, indent);
  }
  return { depth, documents, structure };

  /**
   * Scans one line's content from `from` (or a quoted scalar spanning lines); returns the index just
   * after the line break that ends it. `lineStart` is where the line starts, `indent` its
   * indentation (-1 after a document marker).
   */
  function scanLine(from: number, lineStart: number, indent: number): number {
    let j = from;
    let nodeStart = true;
    let afterQuoted = false;
    // Compact block indicators at the start of the content open one level each: `- - a`, `? - a`.
    if (flow === 0) {
      for (;;) {
        while (isBlank(text.charCodeAt(j))) j++;
        const c = text.charCodeAt(j);
        if ((c === DASH || c === QUESTION || c === COLON) && isBlankOrEnd(text.charCodeAt(j + 1))) {
          content();
          j++;
          while (isBlank(text.charCodeAt(j))) j++;
          if (isBreakOrEnd(text.charCodeAt(j)) || text.charCodeAt(j) === HASH) break;
          block.push(j - lineStart);
          note(block.length + flow);
          continue;
        }
        break;
      }
    }
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === LF) {
        if (pendingBlockScalar >= 0) {
          blockScalarParent = pendingBlockScalar;
          pendingBlockScalar = -1;
        }
        return j + 1;
      }
      if (isBlank(c) || c === CR) {
        j++;
        continue;
      }
      if (c === HASH && (j === 0 || isBlankOrEnd(text.charCodeAt(j - 1)))) {
        j = skipToLineEnd(j);
        continue;
      }
      content();
      if (nodeStart && (c === DQUOTE || c === SQUOTE)) {
        j = skipQuoted(j);
        nodeStart = false;
        afterQuoted = true;
        continue;
      }
      const quotedBefore = afterQuoted;
      afterQuoted = false;
      if (nodeStart && (c === AMP || c === BANG)) {
        // An anchor or a tag: a node still follows it.
        while (j < n && !isBlankOrEnd(text.charCodeAt(j)) && !(flow > 0 && isFlowIndicator(text.charCodeAt(j)))) j++;
        continue;
      }
      if (c === LBRACKET || c === LBRACE) {
        if (flow > 0 || nodeStart) {
          flow++;
          note(block.length + flow);
          nodeStart = true;
        }
        j++;
        continue;
      }
      if (flow > 0) {
        if (c === RBRACKET || c === RBRACE) {
          flow--;
          nodeStart = false;
        } else if (c === COMMA) nodeStart = true;
        else if (c === COLON && (isBlankOrEnd(text.charCodeAt(j + 1)) || isFlowIndicator(text.charCodeAt(j + 1)) || quotedBefore)) nodeStart = true;
        else if (c === QUESTION && isBlankOrEnd(text.charCodeAt(j + 1))) nodeStart = true;
        else nodeStart = false;
        j++;
        continue;
      }
      // Block context.
      if (c === COLON && isBlankOrEnd(text.charCodeAt(j + 1))) {
        nodeStart = true;
        j++;
        continue;
      }
      if (nodeStart && (c === PIPE || c === GT)) {
        // A block scalar: its content is the following lines indented deeper than its parent.
        pendingBlockScalar = block.length > 0 ? block[block.length - 1]! : Math.max(indent, 0);
        j = skipToLineEnd(j);
        continue;
      }
      nodeStart = false;
      j++;
    }
    return n;
  }
}

function skipBlanks(text: string, from: number): number {
  let j = from;
  while (isBlank(text.charCodeAt(j))) j++;
  return j;
}

/** `---` or `...` at `i` (column 0), followed by a blank, a line break or the end. */
function isDocumentMarker(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c !== DASH && c !== DOT) return false;
  return text.charCodeAt(i + 1) === c && text.charCodeAt(i + 2) === c && isBlankOrEnd(text.charCodeAt(i + 3));
}
