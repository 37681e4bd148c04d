// URIs of read-only documents that show a file at a revision: `grove-rev:/<path>?<rev>`.
//
// The path keeps the file's name last, so the editor picks the language from its
// extension and shows the name in the tab. The query is the revision itself, not
// `rev=<rev>`: a URI's query is handed back percent-decoded, so a key=value form
// would be ambiguous for revisions containing '&' or '='. Built and read as URI
// components (scheme, path, query) that `vscode.Uri.from` and `Uri.path`/`Uri.query`
// take and give back unencoded.

import type { OpenTarget } from './format';

export const REV_SCHEME = 'grove-rev';

export interface UriComponents {
  scheme: string;
  authority?: string;
  path: string;
  query?: string;
  fragment?: string;
}

export interface FileAtRevision {
  /** Repository-relative, '/'-separated. */
  path: string;
  rev: string;
}

export function revUriComponents({ path, rev }: FileAtRevision): UriComponents {
  if (rev === '') {
    throw new Error('a grove-rev URI needs a revision');
  }
  return { scheme: REV_SCHEME, path: '/' + path.replace(/^\/+/, ''), query: rev };
}

/** The file and revision a `grove-rev` URI names, or undefined for any other URI. */
export function parseRevUri(uri: UriComponents): FileAtRevision | undefined {
  if (uri.scheme !== REV_SCHEME || !uri.query) {
    return undefined;
  }
  const path = uri.path.replace(/^\/+/, '');
  if (path === '') {
    return undefined;
  }
  return { path, rev: uri.query };
}

/**
 * Where a result opens: the workspace file for a result from the workspace, a
 * grove-rev document for one at a revision (its text can differ from the disk).
 */
export function documentForTarget(target: OpenTarget): { file: string } | { rev: UriComponents } {
  if (target.rev === null || target.rev === '') {
    return { file: target.uri };
  }
  return { rev: revUriComponents({ path: target.path, rev: target.rev }) };
}
