/**
 * Turns a JSON pointer into a line and column of the source text it came from. Used only on the error
 * path, so it may re-parse the text with position tracking.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { SourceLocation } from '../errors.js';
import { parsePointer, toPointer } from './pointer.js';

/**
 * Finds the deepest node along `pointer` in `text` and returns its position. When a segment is missing,
 * the location of the last node that exists is returned (the closest place to look).
 */
export function locatePointer(file: string, text: string, pointer: string): SourceLocation {
  const segments = parsePointer(pointer);
  const loc: SourceLocation = { file, pointer: toPointer(segments) };
  const lineCounter = new LineCounter();
  let doc;
  try {
    doc = parseDocument(text, { lineCounter, keepSourceTokens: false, uniqueKeys: false, strict: false });
  } catch {
    return loc;
  }
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0] ?? 0;
  for (const seg of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === seg);
      if (!pair) break;
      const keyNode = pair.key as Node;
      offset = keyNode.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)] as Node | undefined;
      if (!item || !/^\d+$/.test(seg)) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  const pos = lineCounter.linePos(offset);
  return { ...loc, line: pos.line, column: pos.col };
}

/** Line and column of a character offset. */
export function locateOffset(file: string, text: string, offset: number): SourceLocation {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { file, line, column: offset - lineStart + 1 };
}
