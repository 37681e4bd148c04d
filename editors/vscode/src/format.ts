// Search and find results as quick pick item data, and the quick pick titles.
// Offsets are UTF-16 code units throughout, as in the protocol and in JS strings.

import type { FindResult, Hit, Match, Range, SearchResult, Submatch } from './protocol';

/** What picking an item opens: the workspace file (rev null) or the file at a revision. */
export interface OpenTarget {
  uri: string;
  path: string;
  rev: string | null;
  range: Range;
}

export interface ResultItem {
  label: string;
  description: string;
  detail?: string;
  target: OpenTarget;
}

/** Longest label, in UTF-16 code units, before the line is cut to a window around the match. */
export const MAX_LABEL_WIDTH = 160;
/** How much of the line before the match a cut label keeps. */
const CONTEXT_BEFORE_MATCH = 30;
const ELLIPSIS = '…';

export interface LabelText {
  text: string;
  /** [start, end) of each submatch in `text`, UTF-16; empty spans dropped, cut spans clamped. */
  highlights: [number, number][];
}

const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;

/**
 * A matched line as a one-line label: surrounding whitespace trimmed, and a line
 * longer than `maxWidth` cut to a window that starts a little before the first
 * match, with '…' where text was cut. Never splits a surrogate pair.
 */
export function lineLabel(line: string, submatches: readonly Submatch[], maxWidth = MAX_LABEL_WIDTH): LabelText {
  const withoutTrailing = line.trimEnd();
  const body = withoutTrailing.trimStart();
  const leading = withoutTrailing.length - body.length;
  const spans = submatches.map(({ start, end }) => [start - leading, end - leading] as [number, number]);

  let start = 0;
  let end = body.length;
  if (body.length > maxWidth) {
    const anchor = spans.length > 0 ? Math.max(0, Math.min(spans[0][0], body.length)) : 0;
    start = Math.max(0, anchor - CONTEXT_BEFORE_MATCH);
    end = Math.min(body.length, start + maxWidth);
    start = Math.max(0, end - maxWidth);
    if (start > 0 && isLowSurrogate(body.charCodeAt(start)) && isHighSurrogate(body.charCodeAt(start - 1))) {
      start += 1;
    }
    if (end < body.length && isHighSurrogate(body.charCodeAt(end - 1)) && isLowSurrogate(body.charCodeAt(end))) {
      end -= 1;
    }
  }
  const prefix = start > 0 ? ELLIPSIS : '';
  const suffix = end < body.length ? ELLIPSIS : '';
  const shift = prefix.length - start;
  const highlights: [number, number][] = [];
  for (const [s, e] of spans) {
    const from = Math.max(s, start);
    const to = Math.min(e, end);
    if (from < to) {
      highlights.push([from + shift, to + shift]);
    }
  }
  return { text: prefix + body.slice(start, end) + suffix, highlights };
}

/**
 * Quick pick labels, descriptions and details render `$(name)` as an icon;
 * a source line that contains one must show it literally.
 */
export function escapeIcons(text: string): string {
  return text.replace(/\$\(/g, '\\$(');
}

/** `path:line` with the 1-based line number people and other tools use. */
export function pathAndLine(path: string, zeroBasedLine: number): string {
  return `${path}:${zeroBasedLine + 1}`;
}

export function searchItem(match: Match): ResultItem {
  const item: ResultItem = {
    label: escapeIcons(lineLabel(match.text, match.submatches).text),
    description: escapeIcons(pathAndLine(match.path, match.line)),
    target: { uri: match.uri, path: match.path, rev: match.rev, range: match.range },
  };
  if (match.rev !== null && match.rev !== '') {
    item.detail = escapeIcons(match.rev);
  }
  return item;
}

export function searchItems(result: SearchResult): ResultItem[] {
  return result.matches.map(searchItem);
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** The title while a search runs: what is searched, and where. */
export function searchHeading(pattern: string, rev?: string | null): string {
  return `grove search /${pattern}/${rev ? ` at ${rev}` : ''}`;
}

export function searchTitle(pattern: string, result: SearchResult, requestedRev?: string): string {
  const count = result.matches.length === 0 ? 'no matches' : plural(result.matches.length, 'match', 'matches');
  return `${searchHeading(pattern, result.rev ?? requestedRev)}: ${count}${result.truncated ? ' (truncated)' : ''}`;
}

/** The first line of a chunk that has something on it, for hits without a symbol name. */
function firstNonBlankLine(text: string): string {
  return text.split(/\r?\n/).find((line) => line.trim() !== '') ?? '';
}

/** Three significant digits: fused scores are small (0.0328) and raw ones large (12.4). */
export function formatScore(score: number): string {
  return Number.isFinite(score) ? String(Number(score.toPrecision(3))) : String(score);
}

export function findItem(hit: Hit): ResultItem {
  const label = hit.symbol !== null && hit.symbol !== '' ? hit.symbol : lineLabel(firstNonBlankLine(hit.text), []).text;
  const detail = [`score ${formatScore(hit.score)}`];
  if (hit.rev !== null && hit.rev !== '') {
    detail.push(hit.rev);
  }
  return {
    label: escapeIcons(label),
    description: escapeIcons(pathAndLine(hit.path, hit.range.start.line)),
    detail: escapeIcons(detail.join(' · ')),
    target: { uri: hit.uri, path: hit.path, rev: hit.rev, range: hit.range },
  };
}

export function findItems(result: FindResult): ResultItem[] {
  return result.hits.map(findItem);
}

export function findTitle(query: string, result: FindResult, rev?: string): string {
  const where = rev ? ` at ${rev}` : '';
  const count = result.hits.length === 0 ? 'no results' : plural(result.hits.length, 'result', 'results');
  const notes = [result.mode];
  if (result.unembedded > 0) {
    notes.push(`${plural(result.unembedded, 'file', 'files')} not embedded`);
  }
  if (result.truncated) {
    notes.push('truncated');
  }
  return `grove find "${query}"${where}: ${count} (${notes.join(', ')})`;
}

/** Characters Rust's `regex::escape` (the syntax grove uses) escapes. */
const REGEX_META = /[\\.+*?()|[\]{}^$#&\-~]/g;

/**
 * The pattern to start a search with, from the editor's selection: the selected
 * text as a literal, or nothing when the selection is empty, blank or spans lines.
 */
export function patternFromSelection(selected: string): string | undefined {
  if (selected.trim() === '' || /[\r\n]/.test(selected)) {
    return undefined;
  }
  return selected.replace(REGEX_META, (meta) => '\\' + meta);
}
