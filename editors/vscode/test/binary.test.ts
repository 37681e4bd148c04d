import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { findExecutable, isExecutableFile, LookupEnvironment, missingBinaryMessage } from '../src/binary';

const posix = (files: string[], over: Partial<LookupEnvironment> = {}): LookupEnvironment => ({
  platform: 'linux',
  PATH: '/usr/local/bin:/usr/bin:/opt/grove/bin',
  home: '/home/me',
  cwd: '/work/repo',
  isExecutable: (file) => files.includes(file),
  ...over,
});

test('a bare name is looked up on PATH, first directory first', () => {
  assert.equal(findExecutable('grove', posix(['/opt/grove/bin/grove', '/usr/bin/grove'])), '/usr/bin/grove');
  assert.equal(findExecutable('grove', posix(['/opt/grove/bin/grove'])), '/opt/grove/bin/grove');
  assert.equal(findExecutable('grove', posix([])), undefined);
  assert.equal(findExecutable('grove', posix(['/usr/bin/grove'], { PATH: undefined })), undefined);
  assert.equal(findExecutable('  ', posix(['/usr/bin/grove'])), undefined);
});

test('paths are checked as given: absolute, relative to the workspace folder, or from ~', () => {
  assert.equal(findExecutable('/x/grove', posix(['/x/grove'])), '/x/grove');
  assert.equal(findExecutable('/x/grove', posix(['/usr/bin/grove'])), undefined, 'a path is not looked up on PATH');
  assert.equal(findExecutable('target/release/grove', posix(['/work/repo/target/release/grove'])), '/work/repo/target/release/grove');
  assert.equal(findExecutable('~/bin/grove', posix(['/home/me/bin/grove'])), '/home/me/bin/grove');
});

test('on Windows a name without extension is tried with PATHEXT', () => {
  const env: LookupEnvironment = {
    platform: 'win32',
    PATH: 'C:\\tools;C:\\grove\\bin',
    PATHEXT: '.COM;.EXE;.BAT',
    isExecutable: (file) => file === 'C:\\grove\\bin\\grove.EXE',
  };
  assert.equal(findExecutable('grove', env), 'C:\\grove\\bin\\grove.EXE');
  assert.equal(findExecutable('grove.exe', env), undefined, 'an explicit extension is used as is');
});

test('only executable regular files count', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grove-vscode-bin-'));
  try {
    const runnable = path.join(dir, 'grove');
    const plain = path.join(dir, 'notes');
    fs.writeFileSync(runnable, '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(plain, 'text', { mode: 0o644 });
    fs.mkdirSync(path.join(dir, 'subdir'));
    assert.equal(isExecutableFile(runnable), true);
    if (process.platform !== 'win32') {
      assert.equal(isExecutableFile(plain), false);
    }
    assert.equal(isExecutableFile(path.join(dir, 'subdir')), false);
    assert.equal(isExecutableFile(path.join(dir, 'missing')), false);
    assert.equal(
      findExecutable('grove', { platform: process.platform, PATH: dir, isExecutable: isExecutableFile }),
      runnable,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the missing-binary message names the setting', () => {
  assert.match(missingBinaryMessage('grove'), /"grove".*grove\.path/s);
});
