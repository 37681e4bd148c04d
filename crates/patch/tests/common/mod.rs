//! Helpers shared by the integration tests: running the real `diff` and
//! `git` in a scratch directory, isolated from the user's configuration.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// A `git` command that ignores system and global configuration.
pub fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir)
        .env("LC_ALL", "C")
        .env("TZ", "UTC")
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
        .args([
            "-c",
            "user.name=grove",
            "-c",
            "user.email=grove@example.com",
            "-c",
            "core.autocrlf=false",
            "-c",
            "color.ui=false",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ]);
    c
}

/// Runs `cmd`, which must exit with one of `ok_codes`; returns stdout.
pub fn run(cmd: &mut Command, ok_codes: &[i32]) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let code = out.status.code().unwrap_or(-1);
    assert!(ok_codes.contains(&code), "{cmd:?} exited with {code}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// `git <args>` in `dir`, expecting success; returns stdout.
pub fn git_ok(dir: &Path, args: &[&str]) -> Vec<u8> {
    run(git(dir).args(args), &[0])
}

/// `diff -U<context> old new` (GNU diffutils) in `dir`.
pub fn gnu_diff(dir: &Path, context: u32, old: &str, new: &str) -> Vec<u8> {
    run(
        Command::new("diff")
            .current_dir(dir)
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .arg(format!("-U{context}"))
            .args([old, new]),
        &[0, 1],
    )
}

/// `git diff --no-index -U<context> old new` in `dir`.
pub fn git_diff_no_index(dir: &Path, context: u32, old: &str, new: &str) -> Vec<u8> {
    run(
        git(dir)
            .args(["diff", "--no-index", "--no-color", "--no-ext-diff"])
            .arg(format!("-U{context}"))
            .args([old, new]),
        &[0, 1],
    )
}
