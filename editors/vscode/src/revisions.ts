// The revision picker's items, from a `grove/revisions` answer.

import type { RevisionsResult } from './protocol';

export type RevisionKind = 'branch' | 'tag' | 'snapshot' | 'head';

export interface RevisionItem {
  label: string;
  /** The kind, and "HEAD" for the checked-out branch. */
  description?: string;
  /** What to send as `rev`; absent on separators. */
  rev?: string;
  kind?: RevisionKind;
  /** A group heading (QuickPickItemKind.Separator). */
  separator?: true;
}

const FULL_COMMIT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/i;

function unique(names: readonly string[]): string[] {
  return [...new Set(names.filter((name) => name !== ''))];
}

/**
 * Items grouped under "branches", "tags" and "snapshots" headings (empty groups
 * left out), the checked-out branch first in its group; a detached HEAD comes
 * first on its own.
 *
 * The server resolves a bare name as a snapshot first, then through git (where
 * a tag shadows a branch). So a branch or tag whose name is also taken by a
 * kind that wins is sent fully qualified (`refs/heads/x`, `refs/tags/x`) to
 * search what the user picked.
 */
export function revisionItems(revisions: RevisionsResult): RevisionItem[] {
  const branches = unique(revisions.branches);
  const tags = unique(revisions.tags);
  const snapshots = unique(revisions.snapshots);
  const tagSet = new Set(tags);
  const snapshotSet = new Set(snapshots);
  const head = revisions.head ?? undefined;
  const items: RevisionItem[] = [];

  if (head !== undefined && head !== '' && !branches.includes(head)) {
    const detached = FULL_COMMIT_ID.test(head);
    items.push({
      label: detached ? head.slice(0, 12) : head,
      description: detached ? 'HEAD (detached)' : 'HEAD',
      rev: head,
      kind: 'head',
    });
  }

  const group = (heading: string, entries: RevisionItem[]) => {
    if (entries.length > 0) {
      items.push({ label: heading, separator: true }, ...entries);
    }
  };

  const orderedBranches = head !== undefined && branches.includes(head) ? [head, ...branches.filter((b) => b !== head)] : branches;
  group(
    'branches',
    orderedBranches.map((name) => ({
      label: name,
      description: name === head ? 'branch, HEAD' : 'branch',
      rev: tagSet.has(name) || snapshotSet.has(name) ? `refs/heads/${name}` : name,
      kind: 'branch' as const,
    })),
  );
  group(
    'tags',
    tags.map((name) => ({
      label: name,
      description: 'tag',
      rev: snapshotSet.has(name) ? `refs/tags/${name}` : name,
      kind: 'tag' as const,
    })),
  );
  group(
    'snapshots',
    snapshots.map((name) => ({ label: name, description: 'snapshot', rev: name, kind: 'snapshot' as const })),
  );
  return items;
}
