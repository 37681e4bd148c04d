import assert from 'node:assert/strict';
import { test } from 'node:test';
import { URI } from 'vscode-uri';
import { documentForTarget, parseRevUri, REV_SCHEME, revUriComponents } from '../src/uri';

test('a file at a revision becomes grove-rev:/<path>?<rev>', () => {
  assert.deepEqual(revUriComponents({ path: 'src/app.py', rev: 'main' }), {
    scheme: 'grove-rev',
    path: '/src/app.py',
    query: 'main',
  });
  assert.equal(URI.from(revUriComponents({ path: 'src/app.py', rev: 'v1.0' })).toString(), 'grove-rev:/src/app.py?v1.0');
  assert.throws(() => revUriComponents({ path: 'a', rev: '' }));
});

// vscode-uri is the URI class VS Code itself uses: this is the string round trip
// a grove-rev document goes through (editor tabs, restored sessions).
test('rev URIs survive the string round trip with awkward paths and revisions', () => {
  const paths = ['src/app.py', 'dir with space/file #1.rs', 'q?uery/x&y=z.txt', 'ünïcode/😀.md', 'per%20cent.txt', 'a/b/c'];
  const revs = ['main', 'feature/a&b=c', 'HEAD~3', 'v1.0^{}', 'release 2 ü', '100%', 'a?b#c', 'e'.repeat(40), 'x=y'];
  for (const path of paths) {
    for (const rev of revs) {
      const text = URI.from(revUriComponents({ path, rev })).toString();
      const parsed = URI.parse(text);
      assert.equal(parsed.scheme, REV_SCHEME);
      assert.deepEqual(parseRevUri(parsed), { path, rev }, `${path} @ ${rev} via ${text}`);
    }
  }
});

test('other URIs are not files at a revision', () => {
  assert.equal(parseRevUri(URI.parse('file:///repo/src/app.py')), undefined);
  assert.equal(parseRevUri(URI.parse('grove-rev:/src/app.py')), undefined, 'no revision');
  assert.equal(parseRevUri(URI.parse('grove-rev:/?main')), undefined, 'no path');
  assert.equal(parseRevUri({ scheme: 'untitled', path: '/x', query: 'main' }), undefined);
});

test('workspace results open the file; results at a revision open a grove-rev document', () => {
  const range = { start: { line: 1, character: 2 }, end: { line: 1, character: 5 } };
  assert.deepEqual(documentForTarget({ uri: 'file:///repo/a.rs', path: 'a.rs', rev: null, range }), {
    file: 'file:///repo/a.rs',
  });
  assert.deepEqual(documentForTarget({ uri: 'file:///repo/a.rs', path: 'a.rs', rev: 'v2', range }), {
    rev: { scheme: 'grove-rev', path: '/a.rs', query: 'v2' },
  });
});
