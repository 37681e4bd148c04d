//! `grove apply` and `grove list` output.

use std::io::Read;
use std::process::ExitCode;

use grove_engine::Engine;
use serde_json::json;

use crate::args::ApplyArgs;
use crate::output::human_bytes;
use crate::progress;

pub fn apply(engine: &Engine, a: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let bar = progress::Bar::new();
    let report = if a.worktree {
        engine.apply_worktree(&a.name, &bar)?
    } else if let Some(rev) = &a.rev {
        engine.apply_rev(&a.name, rev, &bar)?
    } else {
        let path = a.patch.as_ref().expect("clap requires one source");
        let mut bytes = Vec::new();
        if path.as_os_str() == "-" {
            std::io::stdin().read_to_end(&mut bytes)?;
        } else {
            bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read patch {}: {e}", path.display()))?;
        }
        engine.apply_patch(&a.name, &bytes, a.base.as_deref(), &bar)?
    };
    println!(
        "{} -> snapshot {}: {} changed files, {} new blobs ({}) indexed in {:.0} ms",
        a.name,
        report.snapshot.short(),
        report.changed_files,
        report.summary.new_blobs,
        human_bytes(report.summary.new_bytes),
        report.summary.elapsed.as_secs_f64() * 1000.0
    );
    Ok(ExitCode::SUCCESS)
}

pub fn list(engine: &Engine, as_json: bool) -> anyhow::Result<ExitCode> {
    let entries = engine.list()?;
    if as_json {
        for e in &entries {
            let v = json!({
                "name": e.name, "named": e.named, "snapshot": e.snapshot.to_hex(),
                "commit": e.commit.to_hex(), "files": e.files, "bytes": e.bytes, "shared_bytes": e.shared_bytes,
                "git_refs": e.git_refs,
            });
            println!("{v}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<42} {:<12} {:>7} {:>11} {:>7}  REFS", "NAME/COMMIT", "SNAPSHOT", "FILES", "SIZE", "SHARED");
    for e in &entries {
        let shared = if e.bytes == 0 { 0.0 } else { 100.0 * e.shared_bytes as f64 / e.bytes as f64 };
        println!(
            "{:<42} {:<12} {:>7} {:>11} {:>6.0}%  {}",
            e.name,
            e.snapshot.short(),
            e.files,
            human_bytes(e.bytes),
            shared,
            e.git_refs.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
