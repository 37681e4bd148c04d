"""Drives `grove lsp` with pygls's language client (a real LSP client
library, over stdio) through the scenario of crates/cli/tests/lsp.rs, and
prints what it observed as one JSON object on stdout. The Rust test makes
the repository and asserts on the JSON; this script only asks and records.

usage: lsp_client.py GROVE_BINARY REPOSITORY
Exit status 3: pygls is not installed (the test skips, or fails in CI).
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

try:
    from lsprotocol import types
    from pygls.exceptions import JsonRpcException
    from pygls.lsp.client import BaseLanguageClient
except ImportError as e:  # pragma: no cover - reported by the Rust test
    print(f"pygls is not importable: {e}", file=sys.stderr)
    sys.exit(3)

TIMEOUT = 120


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def plain(value):
    """pygls hands JSON objects back as named tuples: make them dicts again."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def error_of(exc):
    return {"code": getattr(exc, "code", None), "message": str(getattr(exc, "message", exc))}


async def main(grove, repo):
    out = {"progress": []}
    client = BaseLanguageClient("grove-lsp-test", "1")

    @client.feature("window/workDoneProgress/create")
    def create_progress(params):
        out.setdefault("progress_tokens_created", 0)
        out["progress_tokens_created"] += 1
        return None

    @client.feature("$/progress")
    def on_progress(params):
        value = params.value if hasattr(params, "value") else params["value"]
        if not isinstance(value, dict):
            value = client.protocol._converter.unstructure(value)
        out["progress"].append({"kind": value.get("kind"), "message": value.get("message"), "t": time.monotonic()})

    @client.feature("window/logMessage")
    def on_log(params):
        pass

    async def request(method, params, msg_id=None):
        result = await asyncio.wait_for(client.protocol.send_request_async(method, params, msg_id=msg_id), TIMEOUT)
        return plain(result)

    async def outcome(method, params):
        """The result, or the error, of a request."""
        try:
            return {"result": await request(method, params)}
        except JsonRpcException as e:
            return {"error": error_of(e)}

    async def search(pattern, **kw):
        r = await request("grove/search", {"pattern": pattern, **kw})
        return r

    await client.start_io(grove, "lsp", cwd=repo)
    exiting = False

    async def watch_server():
        """A server that dies early fails the run at once, with its stderr."""
        code = await client._server.wait()
        if not exiting:
            err = (await client._server.stderr.read()).decode(errors="replace")
            print(f"grove lsp exited early with status {code}; stderr:\n{err}", file=sys.stderr)
            os._exit(4)

    watchdog = asyncio.ensure_future(watch_server())
    root = Path(repo).as_uri()
    app_uri = (Path(repo) / "src" / "app.py").as_uri()
    out["app_uri"] = app_uri
    init = await asyncio.wait_for(
        client.initialize_async(
            types.InitializeParams(
                process_id=os.getpid(),
                root_uri=root,
                workspace_folders=[types.WorkspaceFolder(uri=root, name="repo")],
                capabilities=types.ClientCapabilities(
                    window=types.WindowClientCapabilities(work_done_progress=True),
                    general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16]),
                ),
            )
        ),
        TIMEOUT,
    )
    out["capabilities"] = client.protocol._converter.unstructure(init.capabilities)
    client.initialized(types.InitializedParams())

    out["revisions"] = await request("grove/revisions", {})
    symbols = await asyncio.wait_for(
        client.workspace_symbol_async(types.WorkspaceSymbolParams(query="greet")), TIMEOUT
    )
    out["symbols"] = [client.protocol._converter.unstructure(s) for s in symbols or []]

    out["search_workspace"] = await search("hello \\w+")
    out["search_head"] = await search("hello \\w+", rev="HEAD")
    out["search_tag"] = await search("hello", rev="v1")
    out["search_full_ref"] = await search("hello", rev="refs/tags/v1")
    out["search_capped"] = await search("e", maxResults=1)
    out["search_unicode"] = await search("needle_value")

    # Unsaved edits: an overlay in memory, never the disk.
    app = Path(repo) / "src" / "app.py"
    out["disk_before"] = app.read_text()
    out["status_before"] = git(repo, "status", "--porcelain")
    opened_text = out["disk_before"] + "unsaved_marker = 1\n"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=app_uri, language_id="python", version=1, text=opened_text)
        )
    )
    out["after_open"] = await search("unsaved_marker")
    out["read_open_buffer"] = await request("grove/readFile", {"path": "src/app.py"})
    line = opened_text.count("\n") - 1
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=app_uri, version=2),
            content_changes=[
                types.TextDocumentContentChangeEvent_Type1(
                    range=types.Range(start=types.Position(line=line, character=0), end=types.Position(line=line, character=7)),
                    text="changed",
                )
            ],
        )
    )
    out["after_change"] = await search("\\w+_marker")
    out["symbols_in_buffer"] = None
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=app_uri, version=3),
            content_changes=[
                types.TextDocumentContentChangeEvent_Type1(
                    range=types.Range(start=types.Position(line=line + 1, character=0), end=types.Position(line=line + 1, character=0)),
                    text="def buffered_function():\n    pass\n",
                )
            ],
        )
    )
    symbols = await asyncio.wait_for(
        client.workspace_symbol_async(types.WorkspaceSymbolParams(query="buffered_function")), TIMEOUT
    )
    out["symbols_in_buffer"] = [client.protocol._converter.unstructure(s) for s in symbols or []]
    # A document outside the repository is ignored quietly.
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri="file:///nonexistent-grove-dir/x.py", language_id="python", version=1, text="unsaved_marker\n"
            )
        )
    )
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=app_uri))
    )
    out["after_close"] = await search("\\w+_marker")
    out["disk_after"] = app.read_text()
    out["status_after"] = git(repo, "status", "--porcelain")

    # Errors: each answered, and the server keeps serving.
    out["bad_regex"] = await outcome("grove/search", {"pattern": "(unclosed"})
    out["bad_rev"] = await outcome("grove/search", {"pattern": "x", "rev": "no-such-revision"})
    out["bad_params"] = await outcome("grove/search", {"pattern": 5})
    out["unknown_method"] = await outcome("grove/noSuchMethod", {})
    out["read_missing"] = await outcome("grove/readFile", {"path": "no/such/file.txt", "rev": "v1"})
    out["read_at_tag"] = await outcome("grove/readFile", {"path": "src/app.py", "rev": "v1"})
    out["after_errors"] = await search("hello")
    # One object by position (vscode-jsonrpc sends that for an undefined token).
    out["positional"] = await outcome("grove/search", [{"pattern": "hello"}, None])

    # Cancellation: the request is answered RequestCancelled.
    cancel_id = "cancel-me"
    pending = client.protocol.send_request_async("grove/search", {"pattern": "\\w+"}, msg_id=cancel_id)
    client.protocol.notify("$/cancelRequest", types.CancelParams(id=cancel_id))
    try:
        await asyncio.wait_for(pending, TIMEOUT)
        out["cancelled"] = {"result": "answered"}
    except JsonRpcException as e:
        out["cancelled"] = {"error": error_of(e)}
    out["after_cancel"] = await search("greet")

    out["find"] = await outcome("grove/find", {"query": "greet", "mode": "lexical"})

    # HEAD moves: the server indexes it in the background, with progress.
    (Path(repo) / "moved.py").write_text("def moved_marker():\n    return 1\n")
    git(repo, "add", "moved.py")
    git(repo, "commit", "-q", "-m", "moved")
    committed_at = time.monotonic()
    deadline = committed_at + 30
    while time.monotonic() < deadline and not any(
        p["kind"] == "end" and p["t"] > committed_at for p in out["progress"]
    ):
        await asyncio.sleep(0.1)
    out["progress_after_commit"] = [p for p in out["progress"] if p["t"] > committed_at]
    out["after_commit_head"] = await search("moved_marker", rev="HEAD")
    out["after_commit_workspace"] = await search("moved_marker")

    exiting = True
    await asyncio.wait_for(client.shutdown_async(None), TIMEOUT)
    client.exit(None)
    out["exit_code"] = await asyncio.wait_for(client._server.wait(), TIMEOUT)
    await watchdog
    await client.stop()
    for p in out["progress"]:
        del p["t"]
    for p in out["progress_after_commit"]:
        p.pop("t", None)
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
