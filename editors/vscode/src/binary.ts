// Finding the `grove` binary before starting it, so a missing one gets a clear
// message instead of the language client's generic "server crashed" loop.

import * as fs from 'fs';
import * as path from 'path';

export interface LookupEnvironment {
  platform: NodeJS.Platform;
  PATH?: string;
  PATHEXT?: string;
  home?: string;
  /** Relative paths in the setting are taken from here (the workspace folder). */
  cwd?: string;
  isExecutable(file: string): boolean;
}

export function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) {
      return false;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function defaultLookupEnvironment(cwd?: string): LookupEnvironment {
  return {
    platform: process.platform,
    PATH: process.env.PATH ?? process.env.Path,
    PATHEXT: process.env.PATHEXT,
    home: process.env.HOME ?? process.env.USERPROFILE,
    cwd,
    isExecutable: isExecutableFile,
  };
}

/**
 * The file `command` runs: a path (with a separator, or starting with `~`) is
 * checked as given, a bare name is looked up on PATH (with PATHEXT on Windows).
 */
export function findExecutable(command: string, env: LookupEnvironment): string | undefined {
  const windows = env.platform === 'win32';
  const paths = windows ? path.win32 : path.posix;
  const trimmed = command.trim();
  if (trimmed === '') {
    return undefined;
  }
  const extensions =
    windows && paths.extname(trimmed) === ''
      ? (env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter((ext) => ext !== '')
      : [''];
  const candidates = (file: string) => extensions.map((ext) => file + ext);

  let expanded = trimmed;
  if (env.home && (trimmed === '~' || trimmed.startsWith('~/') || (windows && trimmed.startsWith('~\\')))) {
    expanded = paths.join(env.home, trimmed.slice(1));
  }
  const hasSeparator = expanded.includes('/') || (windows && expanded.includes('\\'));
  if (hasSeparator || paths.isAbsolute(expanded)) {
    const file = paths.isAbsolute(expanded) || !env.cwd ? expanded : paths.join(env.cwd, expanded);
    return candidates(file).find((candidate) => env.isExecutable(candidate));
  }
  const directories = (env.PATH ?? '').split(windows ? ';' : ':').filter((dir) => dir !== '');
  for (const dir of directories) {
    const found = candidates(paths.join(dir, expanded)).find((candidate) => env.isExecutable(candidate));
    if (found !== undefined) {
      return found;
    }
  }
  return undefined;
}

export function missingBinaryMessage(command: string): string {
  return (
    `grove: cannot find the grove binary "${command}". ` +
    'Install it (cargo build --release -p grove-cli, then put target/release/grove on your PATH) ' +
    'or set "grove.path" to its full path.'
  );
}
