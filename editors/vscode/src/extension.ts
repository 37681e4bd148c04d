// Wires the pure modules to VS Code: starts `grove lsp`, registers the commands
// and the read-only `grove-rev:` documents. Logic that needs no `vscode` lives
// in protocol.ts, format.ts, uri.ts, revisions.ts, live.ts and binary.ts.

import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from 'vscode-languageclient/node';
import { defaultLookupEnvironment, findExecutable, missingBinaryMessage } from './binary';
import {
  findItems,
  findTitle,
  OpenTarget,
  patternFromSelection,
  ResultItem,
  searchHeading,
  searchItems,
  searchTitle,
} from './format';
import { LatestRequest } from './live';
import {
  buildFindParams,
  buildReadFileParams,
  buildSearchParams,
  errorMessage,
  FindResult,
  Methods,
  normalizeSearchSettings,
  Range,
  ReadFileResult,
  RevisionsResult,
  SearchResult,
  SearchSettings,
} from './protocol';
import { RevisionItem, revisionItems } from './revisions';
import { documentForTarget, parseRevUri, REV_SCHEME } from './uri';

/** Pause after a keystroke before searching, so fast typing sends one request, not one per key. */
const TYPING_PAUSE_MS = 150;

let client: LanguageClient | undefined;
/** The start in progress: commands wait for it rather than fail while the server initializes. */
let starting: Promise<void> | undefined;
/** Why there is no running client, to repeat when a command needs one. */
let notRunningReason: string | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(REV_SCHEME, new RevisionDocuments()),
    vscode.commands.registerCommand('grove.search', () => searchCommand(undefined)),
    vscode.commands.registerCommand('grove.searchAtRevision', searchAtRevisionCommand),
    vscode.commands.registerCommand('grove.find', findCommand),
    vscode.commands.registerCommand('grove.restartServer', restartClient),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('grove.path') || event.affectsConfiguration('grove.args')) {
        void restartClient();
      }
    }),
    { dispose: () => void stopClient() },
  );
  // Not awaited: activation should not wait for the server (it may index first).
  void beginStart();
}

function beginStart(): Promise<void> {
  const start = startClient().finally(() => {
    if (starting === start) {
      starting = undefined;
    }
  });
  starting = start;
  return start;
}

export function deactivate(): Thenable<void> | undefined {
  return stopClient();
}

async function startClient(): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.find((candidate) => candidate.uri.scheme === 'file');
  if (folder === undefined) {
    notRunningReason = 'grove: open a folder inside a git repository to search it.';
    return;
  }
  const config = vscode.workspace.getConfiguration('grove', folder.uri);
  const command = config.get<string>('path', 'grove') || 'grove';
  const rawArgs = config.get<unknown>('args', []);
  const extraArgs = Array.isArray(rawArgs) ? rawArgs.filter((arg): arg is string => typeof arg === 'string') : [];

  const executable = findExecutable(command, defaultLookupEnvironment(folder.uri.fsPath));
  if (executable === undefined) {
    notRunningReason = missingBinaryMessage(command);
    void showErrorWithSettings(notRunningReason);
    return;
  }

  const serverOptions: ServerOptions = {
    command: executable,
    args: ['lsp', ...extraArgs],
    options: { cwd: folder.uri.fsPath },
    transport: TransportKind.stdio,
  };
  const clientOptions: LanguageClientOptions = {
    // Unsaved buffers are part of "the workspace as the editor sees it", whatever their language.
    documentSelector: [{ scheme: 'file' }],
    workspaceFolder: folder,
    outputChannelName: 'grove',
  };
  const started = new LanguageClient('grove', 'grove', serverOptions, clientOptions);
  client = started;
  notRunningReason = undefined;
  try {
    await started.start();
  } catch (error) {
    if (client === started) {
      client = undefined;
    }
    notRunningReason = `grove: the language server (${executable} lsp) did not start: ${errorMessage(error) ?? 'cancelled'}`;
    void showErrorWithSettings(notRunningReason);
  }
}

function stopClient(): Thenable<void> | undefined {
  const stopping = client;
  client = undefined;
  return stopping?.stop().catch(() => undefined);
}

async function restartClient(): Promise<void> {
  await starting?.catch(() => undefined);
  await stopClient();
  await beginStart();
}

async function showErrorWithSettings(message: string): Promise<void> {
  const openSettings = 'Open Settings';
  if ((await vscode.window.showErrorMessage(message, openSettings)) === openSettings) {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'grove.path');
  }
}

async function runningClient(): Promise<LanguageClient | undefined> {
  await starting;
  if (client?.isRunning()) {
    return client;
  }
  void vscode.window.showErrorMessage(
    notRunningReason ?? 'grove: the language server is not running; see the "grove" output channel.',
  );
  return undefined;
}

function searchSettings(): SearchSettings {
  const config = vscode.workspace.getConfiguration('grove.search');
  return normalizeSearchSettings({ ignoreCase: config.get('ignoreCase'), maxResults: config.get('maxResults') });
}

function selectedText(): string {
  const editor = vscode.window.activeTextEditor;
  return editor ? editor.document.getText(editor.selection) : '';
}

function toVsRange(range: Range): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

/** Read-only documents for files at a revision, fetched with `grove/readFile`. */
class RevisionDocuments implements vscode.TextDocumentContentProvider {
  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const file = parseRevUri(uri);
    if (file === undefined) {
      throw new Error(`grove: not a file at a revision: ${uri.toString()}`);
    }
    const running = await runningClient();
    if (running === undefined) {
      throw new Error(notRunningReason ?? 'grove: the language server is not running');
    }
    const result = await running.sendRequest<ReadFileResult>(
      Methods.readFile,
      buildReadFileParams(file.path, file.rev),
      token,
    );
    return result.text;
  }
}

async function openTarget(target: OpenTarget): Promise<void> {
  const where = documentForTarget(target);
  const uri = 'file' in where ? vscode.Uri.parse(where.file) : vscode.Uri.from(where.rev);
  const range = toVsRange(target.range);
  try {
    const document = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(document, { selection: range, preview: true });
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  } catch (error) {
    void vscode.window.showErrorMessage(`grove: cannot open ${target.path}: ${errorMessage(error) ?? 'cancelled'}`);
  }
}

interface ResultQuickPickItem extends vscode.QuickPickItem {
  target: OpenTarget;
}

/**
 * A quick pick that shows `fetch`'s results once they arrive; closing it
 * cancels the request. Errors (a bad regex, an unknown revision) are shown
 * with the server's message.
 */
async function showResults<R>(
  title: string,
  fetch: (token: vscode.CancellationToken) => Thenable<R>,
  toItems: (result: R) => ResultItem[],
  toTitle: (result: R) => string,
): Promise<void> {
  const pick = vscode.window.createQuickPick<ResultQuickPickItem>();
  const cancel = new vscode.CancellationTokenSource();
  pick.title = title;
  pick.placeholder = 'Searching…';
  pick.busy = true;
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  pick.onDidHide(() => {
    cancel.cancel();
    cancel.dispose();
    pick.dispose();
  });
  pick.onDidAccept(() => {
    const [picked] = pick.selectedItems;
    if (picked !== undefined) {
      pick.hide();
      void openTarget(picked.target);
    }
  });
  pick.show();
  try {
    const result = await fetch(cancel.token);
    if (cancel.token.isCancellationRequested) {
      return;
    }
    const items = toItems(result);
    pick.items = items.map((item) => ({ ...item }));
    pick.title = toTitle(result);
    pick.placeholder = items.length === 0 ? 'Nothing found' : 'Filter the results by text or path';
    pick.busy = false;
  } catch (error) {
    pick.hide();
    const message = errorMessage(error);
    if (message !== undefined) {
      void vscode.window.showErrorMessage(`grove: ${message}`);
    }
  }
}

/**
 * Asks for a pattern, searching as the user types: the count (or what is wrong
 * with the regex) shows under the input, and each keystroke cancels the request
 * of the one before. Enter shows the results.
 */
async function searchCommand(rev: string | undefined): Promise<void> {
  const running = await runningClient();
  if (running === undefined) {
    return;
  }
  const settings = searchSettings();
  const send = (pattern: string, token: vscode.CancellationToken) =>
    running.sendRequest<SearchResult>(Methods.search, buildSearchParams(pattern, settings, rev), token);
  const live = new LatestRequest(() => new vscode.CancellationTokenSource(), TYPING_PAUSE_MS);
  let latest: { pattern: string; result: SearchResult } | undefined;

  const input = vscode.window.createInputBox();
  input.title = rev ? `grove: search at ${rev}` : 'grove: search';
  input.prompt = `Regular expression${settings.ignoreCase ? ' (ignoring case)' : ''}; Enter lists the matches`;
  input.placeholder = 'fn \\w+_request';
  const onChange = async (pattern: string) => {
    if (pattern === '') {
      live.cancel();
      input.busy = false;
      input.validationMessage = undefined;
      return;
    }
    input.busy = true;
    const outcome = await live.run((token) => send(pattern, token));
    if (outcome.kind === 'superseded') {
      return;
    }
    input.busy = false;
    if (outcome.kind === 'value') {
      latest = { pattern, result: outcome.value };
      input.validationMessage = {
        message: searchTitle(pattern, outcome.value, rev),
        severity: vscode.InputBoxValidationSeverity.Info,
      };
    } else {
      const message = errorMessage(outcome.error);
      input.validationMessage =
        message === undefined ? undefined : { message, severity: vscode.InputBoxValidationSeverity.Error };
    }
  };
  input.onDidChangeValue((pattern) => void onChange(pattern));

  const pattern = await new Promise<string | undefined>((resolve) => {
    input.onDidAccept(() => {
      if (input.value !== '') {
        resolve(input.value);
        input.hide();
      }
    });
    input.onDidHide(() => {
      resolve(undefined);
      live.cancel();
      input.dispose();
    });
    input.value = patternFromSelection(selectedText()) ?? '';
    input.show();
    if (input.value !== '') {
      void onChange(input.value);
    }
  });
  if (pattern === undefined) {
    return;
  }
  const ready = latest?.pattern === pattern ? latest.result : undefined;
  await showResults(
    searchHeading(pattern, rev),
    (token) => (ready !== undefined ? Promise.resolve(ready) : send(pattern, token)),
    searchItems,
    (result) => searchTitle(pattern, result, rev),
  );
}

interface RevisionQuickPickItem extends vscode.QuickPickItem {
  rev?: string;
}

function toRevisionQuickPickItem(item: RevisionItem): RevisionQuickPickItem {
  if (item.separator) {
    return { label: item.label, kind: vscode.QuickPickItemKind.Separator };
  }
  return { label: item.label, description: item.description, rev: item.rev };
}

/** Picks a revision from `grove/revisions` (or takes one typed in, e.g. `HEAD~3`), then searches it. */
async function searchAtRevisionCommand(): Promise<void> {
  const running = await runningClient();
  if (running === undefined) {
    return;
  }
  const pick = vscode.window.createQuickPick<RevisionQuickPickItem>();
  const cancel = new vscode.CancellationTokenSource();
  pick.title = 'grove: search at revision';
  pick.placeholder = 'Loading revisions…';
  pick.busy = true;
  pick.matchOnDescription = true;

  const chosen = new Promise<string | undefined>((resolve) => {
    pick.onDidAccept(() => {
      const typed = pick.value.trim();
      const rev = pick.selectedItems[0]?.rev ?? (typed !== '' ? typed : undefined);
      if (rev !== undefined) {
        resolve(rev);
        pick.hide();
      }
    });
    pick.onDidHide(() => {
      resolve(undefined);
      cancel.cancel();
      cancel.dispose();
      pick.dispose();
    });
  });
  pick.show();
  try {
    const revisions = await running.sendRequest<RevisionsResult>(Methods.revisions, {}, cancel.token);
    if (!cancel.token.isCancellationRequested) {
      pick.items = revisionItems(revisions).map(toRevisionQuickPickItem);
      pick.placeholder = 'A branch, tag or snapshot (or type any revision, e.g. HEAD~3)';
      pick.busy = false;
    }
  } catch (error) {
    pick.hide();
    const message = errorMessage(error);
    if (message !== undefined) {
      void vscode.window.showErrorMessage(`grove: ${message}`);
    }
  }
  const rev = await chosen;
  if (rev !== undefined) {
    await searchCommand(rev);
  }
}

/** Asks for a description of the code, then lists `grove/find`'s hits with their symbol and score. */
async function findCommand(): Promise<void> {
  const running = await runningClient();
  if (running === undefined) {
    return;
  }
  const selection = selectedText();
  const query = await vscode.window.showInputBox({
    title: 'grove: find by meaning',
    prompt: 'Describe the code you are looking for, or name an identifier',
    placeHolder: 'where do we retry failed connections',
    value: /[\r\n]/.test(selection) ? '' : selection.trim(),
  });
  if (query === undefined || query.trim() === '') {
    return;
  }
  await showResults(
    `grove find "${query}"`,
    (token) => running.sendRequest<FindResult>(Methods.find, buildFindParams(query), token),
    findItems,
    (result) => findTitle(query, result),
  );
}
