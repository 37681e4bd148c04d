// End-to-end check of the protocol the extension relies on (docs/lsp.md): a real
// `grove lsp` over stdio, driven by vscode-jsonrpc (the transport under
// vscode-languageclient), against a small git repository made here.
// Runs only when GROVE_BIN names the binary; otherwise it says SKIPPED and passes.

import assert from 'node:assert/strict';
import { ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import {
  CancellationTokenSource,
  createMessageConnection,
  MessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import {
  buildFindParams,
  buildReadFileParams,
  buildSearchParams,
  DEFAULT_SEARCH_SETTINGS,
  ErrorCodes,
  FindResult,
  Methods,
  ReadFileResult,
  RevisionsResult,
  SearchResult,
} from '../src/protocol';

const GROVE_BIN = process.env.GROVE_BIN;
/** Generous: the first request indexes the repository. */
const REQUEST_TIMEOUT_MS = 120_000;

if (!GROVE_BIN) {
  console.log('SKIPPED: lsp-smoke: GROVE_BIN is not set; set it to a grove binary to run `grove lsp` end to end');
}

const APP_V1 = "def greet():\n    return 'hello world'\n";
const APP_V2 = "def greet():\n    return 'hello there'\n";
const UNICODE_LINE = '    s = "😀😀" + needle_value';

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], {
    cwd: repo,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'grove test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'grove test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: repo,
    },
  });
}

function write(repo: string, file: string, text: string) {
  fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
  fs.writeFileSync(path.join(repo, file), text);
}

/**
 * main: v1 (tagged) -> v2; feature: v1 + feature.txt. The working tree is main
 * with src/unicode.py added but not committed.
 */
function makeRepository(): string {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'grove-lsp-smoke-'));
  git(repo, 'init', '-q', '-b', 'main');
  write(repo, 'src/app.py', APP_V1);
  write(repo, 'README.md', 'smoke test repository\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'v1');
  git(repo, 'tag', 'v1');
  git(repo, 'checkout', '-q', '-b', 'feature');
  write(repo, 'feature.txt', 'feature only marker\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'feature');
  git(repo, 'checkout', '-q', 'main');
  write(repo, 'src/app.py', APP_V2);
  git(repo, 'commit', '-q', '-am', 'v2');
  write(repo, 'src/unicode.py', UNICODE_LINE + '\n');
  return repo;
}

/** Set once the server is started: rejects when it exits, so a crash fails the request that caused it. */
let serverGone: Promise<never> | undefined;

function withTimeout<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout, ...(serverGone ? [serverGone] : [])]).finally(() => clearTimeout(timer));
}

async function expectError(what: string, promise: Promise<unknown>, code: number): Promise<ResponseError<unknown>> {
  try {
    await withTimeout(what, promise);
  } catch (error) {
    assert.ok(error instanceof ResponseError, `${what}: expected a JSON-RPC error, got ${error}`);
    assert.equal(error.code, code, `${what}: ${error.message}`);
    assert.ok(error.message.length > 0, `${what}: the error says what is wrong`);
    return error;
  }
  assert.fail(`${what}: expected an error`);
}

interface Session {
  connection: MessageConnection;
  server: ChildProcessWithoutNullStreams;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startServer(bin: string, repo: string): Session {
  const server = spawn(bin, ['lsp'], { cwd: repo, stdio: 'pipe' });
  let stderr = '';
  server.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
  serverGone = exited.then((code) => {
    throw new Error(`grove lsp exited (code ${code}) before answering; stderr:\n${stderr}`);
  });
  serverGone.catch(() => undefined);
  server.on('error', (error) => (stderr += `\nspawn failed: ${error.message}`));
  server.stdin.on('error', () => undefined); // a dead server: the exit above reports it
  const connection = createMessageConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  // What VS Code would answer: accept progress tokens, registrations and configuration.
  connection.onRequest(() => null);
  connection.onNotification(() => undefined);
  connection.listen();
  return { connection, server, stderr: () => stderr, exited };
}

test('grove lsp answers the extension\'s requests on a real repository', { skip: !GROVE_BIN, timeout: 600_000 }, async (t) => {
  const repo = makeRepository();
  const session = startServer(GROVE_BIN!, repo);
  const { connection } = session;
  const request = <R>(method: string, params: unknown, token?: CancellationTokenSource['token']) =>
    withTimeout(method, connection.sendRequest<R>(method, params, token));
  const rootUri = pathToFileURL(repo).href;
  const appUri = pathToFileURL(path.join(repo, 'src/app.py')).href;
  try {
    const init = await request<{ capabilities: Record<string, unknown> }>('initialize', {
      processId: process.pid,
      rootUri,
      workspaceFolders: [{ uri: rootUri, name: 'smoke' }],
      capabilities: { window: { workDoneProgress: true }, general: { positionEncodings: ['utf-16'] } },
    });
    assert.ok(init.capabilities, 'initialize returns capabilities');
    await connection.sendNotification('initialized', {});

    await t.test('grove/revisions lists branches, tags and HEAD', async () => {
      const revisions = await request<RevisionsResult>(Methods.revisions, {});
      assert.equal(revisions.head, 'main');
      assert.deepEqual([...revisions.branches].sort(), ['feature', 'main']);
      assert.deepEqual(revisions.tags, ['v1']);
      assert.ok(Array.isArray(revisions.snapshots));
    });

    await t.test('grove/search in the workspace: path, 0-based line, file URI, range of the match', async () => {
      const result = await request<SearchResult>(
        Methods.search,
        buildSearchParams('hello \\w+', DEFAULT_SEARCH_SETTINGS),
      );
      assert.equal(result.truncated, false);
      assert.equal(result.rev, null);
      assert.equal(result.matches.length, 1, JSON.stringify(result));
      const [match] = result.matches;
      assert.equal(match.path, 'src/app.py');
      assert.equal(match.uri, appUri);
      assert.equal(match.rev, null);
      assert.equal(match.line, 1);
      assert.equal(match.text, "    return 'hello there'");
      const start = match.text.indexOf('hello');
      assert.deepEqual(match.submatches, [{ start, end: start + 'hello there'.length }]);
      assert.deepEqual(match.range, {
        start: { line: 1, character: start },
        end: { line: 1, character: start + 'hello there'.length },
      });
    });

    await t.test('grove/search offsets are UTF-16 (the workspace includes untracked files)', async () => {
      const result = await request<SearchResult>(Methods.search, buildSearchParams('needle_value', DEFAULT_SEARCH_SETTINGS));
      assert.equal(result.matches.length, 1, JSON.stringify(result));
      const [match] = result.matches;
      const start = UNICODE_LINE.indexOf('needle_value'); // 19: each emoji is two UTF-16 units
      assert.equal(match.text, UNICODE_LINE);
      assert.deepEqual(match.submatches, [{ start, end: start + 12 }]);
      assert.equal(match.range.start.character, start);
    });

    await t.test('grove/search at a tag and a branch searches that revision', async () => {
      const atTag = await request<SearchResult>(Methods.search, buildSearchParams('hello', DEFAULT_SEARCH_SETTINGS, 'v1'));
      assert.equal(atTag.matches.length, 1, JSON.stringify(atTag));
      assert.equal(atTag.matches[0].text, "    return 'hello world'");
      assert.ok(atTag.matches[0].rev, 'a match at a revision carries it');
      assert.equal(atTag.matches[0].uri, appUri, 'the URI is the workspace path, also at a revision');

      const marker = buildSearchParams('feature only marker', DEFAULT_SEARCH_SETTINGS);
      assert.equal((await request<SearchResult>(Methods.search, marker)).matches.length, 0);
      const atBranch = await request<SearchResult>(Methods.search, { ...marker, rev: 'feature' });
      assert.deepEqual(
        atBranch.matches.map((m) => m.path),
        ['feature.txt'],
      );
    });

    await t.test('grove/search honours ignoreCase and maxResults, and says when it truncated', async () => {
      const exact = await request<SearchResult>(Methods.search, buildSearchParams('HELLO', DEFAULT_SEARCH_SETTINGS));
      assert.equal(exact.matches.length, 0);
      const folded = await request<SearchResult>(Methods.search, buildSearchParams('HELLO', { ignoreCase: true, maxResults: 500 }));
      assert.equal(folded.matches.length, 1);
      const capped = await request<SearchResult>(Methods.search, buildSearchParams('e', { ignoreCase: false, maxResults: 1 }));
      assert.equal(capped.matches.length, 1);
      assert.equal(capped.truncated, true);
    });

    await t.test('bad input is an InvalidParams error and the server keeps serving', async () => {
      await expectError('bad regex', request(Methods.search, buildSearchParams('(unclosed', DEFAULT_SEARCH_SETTINGS)), ErrorCodes.InvalidParams);
      await expectError(
        'unknown revision',
        request(Methods.search, buildSearchParams('x', DEFAULT_SEARCH_SETTINGS, 'no-such-revision')),
        ErrorCodes.InvalidParams,
      );
      const after = await request<SearchResult>(Methods.search, buildSearchParams('hello', DEFAULT_SEARCH_SETTINGS));
      assert.equal(after.matches.length, 1);
    });

    await t.test('grove/readFile returns a file at a revision', async () => {
      const file = await request<ReadFileResult>(Methods.readFile, buildReadFileParams('src/app.py', 'v1'));
      assert.equal(file.text, APP_V1);
      assert.equal(file.path, 'src/app.py');
      const current = await request<ReadFileResult>(Methods.readFile, buildReadFileParams('src/app.py'));
      assert.equal(current.text, APP_V2);
      await assert.rejects(request(Methods.readFile, buildReadFileParams('no/such/file.txt', 'v1')), ResponseError);
    });

    await t.test('unsaved buffers are searched instead of the disk', async () => {
      const sync = init.capabilities.textDocumentSync as number | { change?: number } | undefined;
      const changeKind = typeof sync === 'number' ? sync : sync?.change;
      await connection.sendNotification('textDocument/didOpen', {
        textDocument: { uri: appUri, languageId: 'python', version: 1, text: APP_V2 + 'unsaved_marker = 1\n' },
      });
      const opened = await request<SearchResult>(Methods.search, buildSearchParams('unsaved_marker', DEFAULT_SEARCH_SETTINGS));
      assert.deepEqual(
        opened.matches.map((m) => [m.path, m.line]),
        [['src/app.py', 2]],
      );

      // Replace "unsaved" with "changed" on line 2, as the client would send it.
      const change =
        changeKind === 2
          ? { range: { start: { line: 2, character: 0 }, end: { line: 2, character: 7 } }, text: 'changed' }
          : { text: APP_V2 + 'changed_marker = 1\n' };
      await connection.sendNotification('textDocument/didChange', {
        textDocument: { uri: appUri, version: 2 },
        contentChanges: [change],
      });
      const changed = await request<SearchResult>(Methods.search, buildSearchParams('\\w+_marker', DEFAULT_SEARCH_SETTINGS));
      assert.deepEqual(
        changed.matches.map((m) => m.text),
        ['changed_marker = 1'],
      );

      await connection.sendNotification('textDocument/didClose', { textDocument: { uri: appUri } });
      const closed = await request<SearchResult>(Methods.search, buildSearchParams('\\w+_marker', DEFAULT_SEARCH_SETTINGS));
      assert.equal(closed.matches.length, 0, 'after closing, the disk is what counts');
    });

    await t.test('a cancelled request is answered (result or RequestCancelled) and the server keeps serving', async () => {
      const source = new CancellationTokenSource();
      const pending = request<SearchResult>(Methods.search, buildSearchParams('\\w+', DEFAULT_SEARCH_SETTINGS), source.token);
      source.cancel();
      try {
        await pending;
      } catch (error) {
        assert.ok(error instanceof ResponseError && error.code === ErrorCodes.RequestCancelled, String(error));
      }
      const after = await request<SearchResult>(Methods.search, buildSearchParams('greet', DEFAULT_SEARCH_SETTINGS));
      assert.equal(after.matches.length, 1);
    });

    await t.test('grove/find (lexical) finds the function by its name', async () => {
      const result = await request<FindResult>(Methods.find, { ...buildFindParams('greet'), mode: 'lexical' });
      assert.equal(result.mode, 'lexical');
      assert.ok(
        result.hits.some((hit) => hit.path === 'src/app.py' && typeof hit.score === 'number'),
        JSON.stringify(result),
      );
    });

    await t.test('workspace/symbol finds definitions', async () => {
      const symbols = await request<{ name: string }[] | null>('workspace/symbol', { query: 'greet' });
      assert.ok(symbols?.some((symbol) => symbol.name.includes('greet')), JSON.stringify(symbols));
    });

    await request('shutdown', null);
    serverGone = undefined; // exiting is what comes next
    await connection.sendNotification('exit');
    const code = await withTimeout('exit', session.exited);
    assert.equal(code, 0, 'the server exits cleanly after shutdown + exit');
  } catch (error) {
    console.error(`grove lsp stderr:\n${session.stderr()}`);
    throw error;
  } finally {
    connection.dispose();
    if (session.server.exitCode === null) {
      session.server.kill();
    }
    fs.rmSync(repo, { recursive: true, force: true });
  }
});
