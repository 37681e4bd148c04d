"""Drives `grove mcp` with the official MCP Python SDK (the `mcp` package).

Usage: mcp_client.py PLAN.json GROVE [GROVE ARGS...]

PLAN.json is a list of tool calls, `{"tool": NAME, "args": {...}}`. The
client starts GROVE ARGS over stdio, initializes, lists the tools, makes
the calls in order in one session, and prints one JSON object: the server's
info, its tools, and for each call either the tool result (`is_error`,
`text`, `structured`) or the JSON-RPC error (`error`: code, message), or
an `exception` the SDK raised (e.g. structured content that does not match
the tool's output schema), with its latency in milliseconds.
"""

import asyncio
import json
import os
import sys
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError


async def run(plan, command, args):
    server = StdioServerParameters(command=command, args=args, env=dict(os.environ))
    out = {}
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            started = time.perf_counter()
            init = await session.initialize()
            out["initialize_ms"] = round((time.perf_counter() - started) * 1000, 2)
            out["protocol_version"] = init.protocol_version
            out["server_info"] = {"name": init.server_info.name, "version": init.server_info.version}
            out["instructions"] = init.instructions
            tools = await session.list_tools()
            out["tools"] = [
                {
                    "name": t.name,
                    "description": t.description,
                    "input_schema": t.input_schema,
                    "output_schema": t.output_schema,
                }
                for t in tools.tools
            ]
            calls = []
            for step in plan:
                entry = {"tool": step["tool"], "args": step.get("args")}
                started = time.perf_counter()
                try:
                    r = await session.call_tool(step["tool"], step.get("args"))
                    entry["is_error"] = bool(r.is_error)
                    entry["text"] = "\n".join(c.text for c in r.content if getattr(c, "type", None) == "text")
                    entry["structured"] = r.structured_content
                except MCPError as e:
                    entry["error"] = {"code": e.code, "message": e.message}
                except Exception as e:  # the SDK's own checks (schemas) fail this way
                    entry["exception"] = f"{type(e).__name__}: {e}"
                entry["ms"] = round((time.perf_counter() - started) * 1000, 2)
                calls.append(entry)
            out["calls"] = calls
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        plan = json.load(f)
    out = asyncio.run(run(plan, sys.argv[2], sys.argv[3:]))
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
