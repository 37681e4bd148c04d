// The custom requests of `grove lsp` (docs/lsp.md) and the parameter builders the
// extension uses. No `vscode` import here, so it is unit-tested under plain node.

/** LSP position: 0-based line, UTF-16 code unit offset in the line. */
export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export const Methods = {
  search: 'grove/search',
  find: 'grove/find',
  revisions: 'grove/revisions',
  readFile: 'grove/readFile',
} as const;

export interface SearchParams {
  pattern: string;
  /** Absent: the workspace as the editor sees it (working tree + unsaved buffers). */
  rev?: string;
  ignoreCase?: boolean;
  fixedStrings?: boolean;
  wordRegexp?: boolean;
  globs?: string[];
  maxResults?: number;
}

/** UTF-16 offsets into `Match.text`. */
export interface Submatch {
  start: number;
  end: number;
}

export interface Match {
  /** file:// URI of the path in the workspace, also for a match at a revision. */
  uri: string;
  /** Repository-relative, '/'-separated. */
  path: string;
  rev: string | null;
  /** The first submatch on the line. */
  range: Range;
  /** 0-based. */
  line: number;
  text: string;
  submatches: Submatch[];
}

export interface SearchResult {
  matches: Match[];
  truncated: boolean;
  rev: string | null;
}

export type FindMode = 'hybrid' | 'lexical' | 'dense';

export interface FindParams {
  query: string;
  rev?: string;
  k?: number;
  mode?: FindMode;
}

export interface Hit {
  uri: string;
  path: string;
  rev: string | null;
  /** Start of the first line .. end of the last line of the chunk. */
  range: Range;
  symbol: string | null;
  score: number;
  text: string;
}

export interface FindResult {
  hits: Hit[];
  mode: string;
  /** Files the dense half could not score because they have no embeddings yet. */
  unembedded: number;
  truncated: boolean;
}

export interface RevisionsResult {
  /** Branch name, or a commit id when HEAD is detached; null in a repository without commits. */
  head: string | null;
  branches: string[];
  tags: string[];
  snapshots: string[];
}

export interface ReadFileParams {
  path: string;
  rev?: string;
}

export interface ReadFileResult {
  path: string;
  rev: string | null;
  text: string;
}

/** JSON-RPC error codes the server answers with. */
export const ErrorCodes = {
  InvalidParams: -32602,
  MethodNotFound: -32601,
  RequestCancelled: -32800,
  RequestFailed: -32803,
} as const;

export interface SearchSettings {
  ignoreCase: boolean;
  maxResults: number;
}

export const DEFAULT_SEARCH_SETTINGS: Readonly<SearchSettings> = { ignoreCase: false, maxResults: 500 };

/**
 * Settings as read from the configuration, which a user can set to anything:
 * a value of the wrong type or out of range falls back to the default rather
 * than being sent to the server.
 */
export function normalizeSearchSettings(raw: { ignoreCase?: unknown; maxResults?: unknown }): SearchSettings {
  const ignoreCase = typeof raw.ignoreCase === 'boolean' ? raw.ignoreCase : DEFAULT_SEARCH_SETTINGS.ignoreCase;
  const maxResults =
    typeof raw.maxResults === 'number' && Number.isFinite(raw.maxResults) && raw.maxResults >= 1
      ? Math.floor(raw.maxResults)
      : DEFAULT_SEARCH_SETTINGS.maxResults;
  return { ignoreCase, maxResults };
}

/** An empty or absent revision means "the workspace", which the protocol expresses by leaving `rev` out. */
function revField(rev: string | undefined): { rev?: string } {
  return rev === undefined || rev === '' ? {} : { rev };
}

export function buildSearchParams(pattern: string, settings: SearchSettings, rev?: string): SearchParams {
  return { pattern, ...revField(rev), ignoreCase: settings.ignoreCase, maxResults: settings.maxResults };
}

export function buildFindParams(query: string, rev?: string, k?: number): FindParams {
  const params: FindParams = { query, ...revField(rev) };
  if (k !== undefined && Number.isInteger(k) && k >= 1) {
    params.k = k;
  }
  return params;
}

export function buildReadFileParams(path: string, rev?: string): ReadFileParams {
  return { path, ...revField(rev) };
}

/** True for the ways a cancelled request comes back: the JSON-RPC code, or the client's own cancellation error. */
export function isCancellation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) {
    return false;
  }
  const { code, name } = error as { code?: unknown; name?: unknown };
  return code === ErrorCodes.RequestCancelled || name === 'Canceled' || name === 'CancellationError';
}

/**
 * The message to show the user for a failed request: the server's own message
 * (it says what was wrong with a regex, a revision, a glob), or undefined when
 * the request was cancelled and nothing should be shown.
 */
export function errorMessage(error: unknown): string | undefined {
  if (isCancellation(error)) {
    return undefined;
  }
  if (typeof error === 'object' && error !== null) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    const text = typeof message === 'string' && message !== '' ? message : String(error);
    if (code === ErrorCodes.MethodNotFound) {
      return `this grove binary does not support the request (${text}); is it older than the extension?`;
    }
    return text;
  }
  return String(error);
}
