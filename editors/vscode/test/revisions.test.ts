import assert from 'node:assert/strict';
import { test } from 'node:test';
import { revisionItems } from '../src/revisions';

test('revisions are grouped under headings, the checked-out branch first', () => {
  const items = revisionItems({
    head: 'main',
    branches: ['dev', 'main', 'topic/x'],
    tags: ['v1.0', 'v2.0'],
    snapshots: ['before-refactor'],
  });
  assert.deepEqual(
    items.map((item) => [item.separator ? '--' : item.label, item.description ?? '', item.rev ?? '']),
    [
      ['--', '', ''],
      ['main', 'branch, HEAD', 'main'],
      ['dev', 'branch', 'dev'],
      ['topic/x', 'branch', 'topic/x'],
      ['--', '', ''],
      ['v1.0', 'tag', 'v1.0'],
      ['v2.0', 'tag', 'v2.0'],
      ['--', '', ''],
      ['before-refactor', 'snapshot', 'before-refactor'],
    ],
  );
  assert.deepEqual(
    items.filter((item) => item.separator).map((item) => item.label),
    ['branches', 'tags', 'snapshots'],
  );
  assert.deepEqual(
    items.filter((item) => !item.separator).map((item) => item.kind),
    ['branch', 'branch', 'branch', 'tag', 'tag', 'snapshot'],
  );
});

test('empty groups get no heading; nothing at all gives no items', () => {
  const items = revisionItems({ head: 'main', branches: ['main'], tags: [], snapshots: [] });
  assert.deepEqual(
    items.map((item) => item.label),
    ['branches', 'main'],
  );
  assert.deepEqual(revisionItems({ head: null, branches: [], tags: [], snapshots: [] }), []);
});

test('a detached HEAD comes first, shortened, with the full commit as rev', () => {
  const commit = '0123456789abcdef0123456789abcdef01234567';
  const [first, ...rest] = revisionItems({ head: commit, branches: ['main'], tags: [], snapshots: [] });
  assert.deepEqual(first, { label: '0123456789ab', description: 'HEAD (detached)', rev: commit, kind: 'head' });
  assert.deepEqual(
    rest.map((item) => item.label),
    ['branches', 'main'],
  );
});

test('names shadowed by a snapshot or a tag are sent fully qualified', () => {
  const items = revisionItems({
    head: 'main',
    branches: ['main', 'release', 'wip'],
    tags: ['release', 'v1'],
    snapshots: ['wip', 'v1'],
  });
  const revOf = (kind: string, label: string) => items.find((item) => item.kind === kind && item.label === label)?.rev;
  assert.equal(revOf('branch', 'release'), 'refs/heads/release', 'a tag shadows a branch in git');
  assert.equal(revOf('branch', 'wip'), 'refs/heads/wip', 'a snapshot shadows a branch in grove');
  assert.equal(revOf('tag', 'v1'), 'refs/tags/v1');
  assert.equal(revOf('tag', 'release'), 'release');
  assert.equal(revOf('snapshot', 'wip'), 'wip');
  assert.equal(revOf('branch', 'main'), 'main');
});

test('duplicate and empty names are dropped', () => {
  const items = revisionItems({ head: null, branches: ['a', 'a', ''], tags: ['t', 't'], snapshots: [] });
  assert.deepEqual(
    items.map((item) => item.label),
    ['branches', 'a', 'tags', 't'],
  );
});
