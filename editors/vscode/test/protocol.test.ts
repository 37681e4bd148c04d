import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResponseError } from 'vscode-jsonrpc';
import {
  buildFindParams,
  buildReadFileParams,
  buildSearchParams,
  DEFAULT_SEARCH_SETTINGS,
  errorMessage,
  ErrorCodes,
  isCancellation,
  normalizeSearchSettings,
} from '../src/protocol';

test('search params with the default settings carry the documented defaults and no rev', () => {
  const params = buildSearchParams('fn \\w+', DEFAULT_SEARCH_SETTINGS);
  assert.deepEqual(params, { pattern: 'fn \\w+', ignoreCase: false, maxResults: 500 });
  assert.equal(JSON.stringify(params), '{"pattern":"fn \\\\w+","ignoreCase":false,"maxResults":500}');
});

test('search params: an empty rev means the workspace and is left out; a rev is sent as given', () => {
  assert.equal('rev' in buildSearchParams('x', DEFAULT_SEARCH_SETTINGS, ''), false);
  assert.equal('rev' in buildSearchParams('x', DEFAULT_SEARCH_SETTINGS, undefined), false);
  assert.deepEqual(buildSearchParams('x', { ignoreCase: true, maxResults: 7 }, 'refs/heads/feature/a'), {
    pattern: 'x',
    rev: 'refs/heads/feature/a',
    ignoreCase: true,
    maxResults: 7,
  });
});

test('settings of the wrong type or out of range fall back to the defaults', () => {
  assert.deepEqual(normalizeSearchSettings({}), { ignoreCase: false, maxResults: 500 });
  assert.deepEqual(normalizeSearchSettings({ ignoreCase: 'yes', maxResults: '100' }), { ignoreCase: false, maxResults: 500 });
  for (const bad of [0, -3, Number.NaN, Number.POSITIVE_INFINITY, null]) {
    assert.equal(normalizeSearchSettings({ maxResults: bad }).maxResults, 500, `maxResults ${bad}`);
  }
  assert.deepEqual(normalizeSearchSettings({ ignoreCase: true, maxResults: 12.7 }), { ignoreCase: true, maxResults: 12 });
  assert.equal(normalizeSearchSettings({ maxResults: 1 }).maxResults, 1);
});

test('find params leave k and rev out unless they are meaningful', () => {
  assert.deepEqual(buildFindParams('retry request'), { query: 'retry request' });
  assert.deepEqual(buildFindParams('q', '', 0), { query: 'q' });
  assert.deepEqual(buildFindParams('q', undefined, 2.5), { query: 'q' });
  assert.deepEqual(buildFindParams('q', 'v2.0', 5), { query: 'q', rev: 'v2.0', k: 5 });
});

test('readFile params', () => {
  assert.deepEqual(buildReadFileParams('src/a.rs', 'main'), { path: 'src/a.rs', rev: 'main' });
  assert.deepEqual(buildReadFileParams('src/a.rs'), { path: 'src/a.rs' });
});

test('server errors show the server message; cancellations show nothing', () => {
  const badRegex = new ResponseError(ErrorCodes.InvalidParams, 'regex parse error: unclosed group');
  assert.equal(errorMessage(badRegex), 'regex parse error: unclosed group');
  assert.equal(errorMessage(new ResponseError(ErrorCodes.RequestFailed, 'index is corrupt')), 'index is corrupt');
  assert.match(errorMessage(new ResponseError(ErrorCodes.MethodNotFound, 'grove/find'))!, /older than the extension/);

  const cancelled = new ResponseError(ErrorCodes.RequestCancelled, 'cancelled');
  assert.equal(isCancellation(cancelled), true);
  assert.equal(errorMessage(cancelled), undefined);
  // vscode.CancellationError, as the language client throws it
  const vscodeCancel = Object.assign(new Error('Canceled'), { name: 'Canceled' });
  assert.equal(errorMessage(vscodeCancel), undefined);

  assert.equal(isCancellation(badRegex), false);
  assert.equal(errorMessage('plain string'), 'plain string');
  assert.equal(errorMessage(new Error('spawn grove ENOENT')), 'spawn grove ENOENT');
});
