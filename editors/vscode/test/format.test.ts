import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  escapeIcons,
  findItem,
  findTitle,
  formatScore,
  lineLabel,
  MAX_LABEL_WIDTH,
  patternFromSelection,
  searchHeading,
  searchItem,
  searchTitle,
} from '../src/format';
import type { FindResult, Hit, Match, SearchResult } from '../src/protocol';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function highlighted(label: { text: string; highlights: [number, number][] }): string[] {
  return label.highlights.map(([start, end]) => label.text.slice(start, end));
}

function match(text: string, needle: string, rev: string | null = null, line = 41): Match {
  const start = text.indexOf(needle);
  assert.ok(start >= 0);
  const end = start + needle.length;
  return {
    uri: 'file:///repo/src/app.py',
    path: 'src/app.py',
    rev,
    range: { start: { line, character: start }, end: { line, character: end } },
    line,
    text,
    submatches: [{ start, end }],
  };
}

test('labels trim the line and move the match offsets with it', () => {
  const label = lineLabel('\t    let x = foo();  ', [{ start: 13, end: 16 }]);
  assert.equal(label.text, 'let x = foo();');
  assert.deepEqual(label.highlights, [[8, 11]]);
  assert.deepEqual(highlighted(label), ['foo']);
});

test('submatch offsets are UTF-16: characters outside the BMP count two', () => {
  const text = '\t"😀😀" + bar';
  // \t " 😀(2) 😀(2) " space + space = 10 code units before "bar"
  const label = lineLabel(text, [{ start: 10, end: 13 }]);
  assert.deepEqual(highlighted(label), ['bar']);
  assert.deepEqual(label.highlights, [[9, 12]]);

  const accented = '  é 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 = "ß"; target()';
  const start = accented.indexOf('target');
  assert.equal(start, 26, "7 astral letters count 14");
  assert.deepEqual(highlighted(lineLabel(accented, [{ start, end: start + 6 }])), ['target']);
});

test('a long line is cut to a window around the first match', () => {
  const line = 'a'.repeat(200) + 'NEEDLE' + 'b'.repeat(300);
  const label = lineLabel(line, [{ start: 200, end: 206 }]);
  assert.ok(label.text.startsWith('…'));
  assert.ok(label.text.endsWith('…'));
  assert.equal(label.text.length, MAX_LABEL_WIDTH + 2);
  assert.deepEqual(highlighted(label), ['NEEDLE']);
  assert.equal(label.text.indexOf('NEEDLE'), 31, 'keeps 30 units of context before the match');

  const short = lineLabel('x'.repeat(MAX_LABEL_WIDTH), [{ start: 0, end: 1 }]);
  assert.equal(short.text, 'x'.repeat(MAX_LABEL_WIDTH), 'exactly the width is not cut');

  const nearEnd = lineLabel('c'.repeat(400) + 'END', [{ start: 400, end: 403 }]);
  assert.ok(nearEnd.text.endsWith('END') && nearEnd.text.startsWith('…'));
  assert.equal(nearEnd.text.length, MAX_LABEL_WIDTH + 1);

  const twoMatches = lineLabel('m1' + 'z'.repeat(400) + 'm2', [
    { start: 0, end: 2 },
    { start: 402, end: 404 },
  ]);
  assert.deepEqual(highlighted(twoMatches), ['m1'], 'a match outside the window has no highlight');
});

test('cutting a long line never splits a surrogate pair', () => {
  // The window would start at 131 - 30 = 101, the second half of the emoji.
  const atStart = 'a'.repeat(100) + '😀' + 'b'.repeat(29) + 'MATCH' + 'c'.repeat(300);
  const label = lineLabel(atStart, [{ start: 131, end: 136 }]);
  assert.doesNotMatch(label.text, LONE_SURROGATE);
  assert.ok(label.text.startsWith('…bbb'));
  assert.deepEqual(highlighted(label), ['MATCH']);

  // The window would end at 160, between the halves of the emoji.
  const atEnd = 'a'.repeat(159) + '😀' + 'z'.repeat(100);
  const cut = lineLabel(atEnd, [{ start: 0, end: 1 }]);
  assert.doesNotMatch(cut.text, LONE_SURROGATE);
  assert.equal(cut.text, 'a'.repeat(159) + '…');
});

test('search items: trimmed line, path:line (1-based), rev as detail, range to open', () => {
  const m = match('    return retry(request)', 'retry');
  const item = searchItem(m);
  assert.equal(item.label, 'return retry(request)');
  assert.equal(item.description, 'src/app.py:42');
  assert.equal(item.detail, undefined);
  assert.deepEqual(item.target, { uri: m.uri, path: 'src/app.py', rev: null, range: m.range });

  const atRev = searchItem(match('x = 1', 'x', 'v1.0', 0));
  assert.equal(atRev.detail, 'v1.0');
  assert.equal(atRev.description, 'src/app.py:1');
  assert.equal(atRev.target.rev, 'v1.0');
});

test('a $(name) in a line is shown literally, not as an icon', () => {
  assert.equal(escapeIcons('echo $(whoami) and $(git rev-parse HEAD)'), 'echo \\$(whoami) and \\$(git rev-parse HEAD)');
  assert.equal(searchItem(match('VAR=$(date)', 'date')).label, 'VAR=\\$(date)');
  assert.equal(escapeIcons('cost: $5 (approx)'), 'cost: $5 (approx)');
});

test('search titles say how many matched, where, and when the server truncated', () => {
  const result = (n: number, truncated: boolean, rev: string | null = null): SearchResult => ({
    matches: Array.from({ length: n }, () => match('foo', 'foo')),
    truncated,
    rev,
  });
  assert.equal(searchTitle('fo+', result(500, true)), 'grove search /fo+/: 500 matches (truncated)');
  assert.equal(searchTitle('fo+', result(3, false)), 'grove search /fo+/: 3 matches');
  assert.doesNotMatch(searchTitle('fo+', result(3, false)), /truncated/);
  assert.equal(searchTitle('fo+', result(1, false)), 'grove search /fo+/: 1 match');
  assert.equal(searchTitle('fo+', result(0, false), 'v2'), 'grove search /fo+/ at v2: no matches');
  assert.equal(searchTitle('x', result(2, false, 'main'), 'refs/heads/main'), 'grove search /x/ at main: 2 matches');
  assert.equal(searchHeading('x', null), 'grove search /x/');
});

const hit = (over: Partial<Hit>): Hit => ({
  uri: 'file:///repo/net/conn.py',
  path: 'net/conn.py',
  rev: null,
  range: { start: { line: 9, character: 0 }, end: { line: 20, character: 4 } },
  symbol: 'Connection.retry',
  score: 0.0327868852,
  text: 'def retry(self):\n    pass',
  ...over,
});

test('find items: symbol (or first code line), path:line, score and rev', () => {
  const item = findItem(hit({}));
  assert.equal(item.label, 'Connection.retry');
  assert.equal(item.description, 'net/conn.py:10');
  assert.equal(item.detail, 'score 0.0328');
  assert.deepEqual(item.target.range, hit({}).range);

  const anonymous = findItem(hit({ symbol: null, text: '\n\n   # retry with backoff\nx = 1', rev: 'v2' }));
  assert.equal(anonymous.label, '# retry with backoff');
  assert.equal(anonymous.detail, 'score 0.0328 · v2');
  assert.equal(formatScore(12.3456), '12.3');
  assert.equal(formatScore(1), '1');
});

test('find titles report mode, unembedded files and truncation', () => {
  const result = (over: Partial<FindResult>): FindResult => ({
    hits: [hit({})],
    mode: 'hybrid',
    unembedded: 0,
    truncated: false,
    ...over,
  });
  assert.equal(findTitle('retry', result({})), 'grove find "retry": 1 result (hybrid)');
  assert.equal(
    findTitle('retry', result({ unembedded: 3, truncated: true, mode: 'lexical' }), 'v2'),
    'grove find "retry" at v2: 1 result (lexical, 3 files not embedded, truncated)',
  );
  assert.equal(findTitle('q', result({ hits: [] })), 'grove find "q": no results (hybrid)');
});

test('a selection becomes a literal pattern; multi-line or blank selections do not', () => {
  assert.equal(patternFromSelection('a.b(c)'), 'a\\.b\\(c\\)');
  const nasty = 'x[0]{1,2} | ^$ + * ? \\ # & - ~';
  const pattern = patternFromSelection(nasty)!;
  assert.ok(new RegExp(pattern).test(`before ${nasty} after`));
  assert.ok(!new RegExp(pattern).test('x0{1,2}'));
  assert.equal(patternFromSelection('one\ntwo'), undefined);
  assert.equal(patternFromSelection('   '), undefined);
  assert.equal(patternFromSelection(''), undefined);
});
