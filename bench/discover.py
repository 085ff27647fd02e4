"""Benchmark of `threatgraph discover`: a generated repository of N files, timed once.

    python bench/discover.py                 # 10,000 files
    python bench/discover.py --files 50000

The repository mixes what a real one holds: mostly ordinary Python and TypeScript modules
(no AI imports: the cheap pre-filter skips them), one file in twenty using a model SDK,
a vector store, an agent framework or a hub model, plus dependency files, an MCP config,
a Compose file, and a node_modules tree that the walk must skip. Prints the figures
(wall seconds, files read, components, peak RSS); never asserts them.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

PLAIN_PY = '''"""Module {i}: ordinary business logic."""

import json
from dataclasses import dataclass


@dataclass
class Record{i}:
    name: str
    value: int

    def dump(self) -> str:
        return json.dumps({{"name": self.name, "value": self.value}})


def handle_{i}(payload: dict) -> Record{i}:
    # mentions openai in a comment only: not a use
    return Record{i}(payload["name"], int(payload.get("value", 0)))
'''
PLAIN_TS = """// Component {i}
import {{ useState }} from "react";

export function Widget{i}() {{
  const [n, setN] = useState(0);
  return n + {i};
}}
"""
AI_PY = [
    "from openai import OpenAI\n\nclient = OpenAI()\n\n"
    "def ask_{i}(q):\n    return client.chat.completions.create(model='gpt-4o', messages=[])\n",
    "import chromadb\n\ndb_{i} = chromadb.PersistentClient(path='./db')\n",
    "from langchain_core.tools import tool\nimport requests\n\n@tool\n"
    "def fetch_{i}(url: str) -> str:\n    '''Fetch.'''\n    return requests.get(url).text\n",
    "from transformers import AutoModel\n\nm_{i} = AutoModel.from_pretrained('org/model-{i}')\n",
    "import anthropic\n\nclaude_{i} = anthropic.Anthropic()\n",
]


def generate(root: Path, files: int, seed: int) -> None:
    """Write a repository of ``files`` source files under ``root``."""
    rng = random.Random(seed)
    for i in range(files):
        pkg = root / "src" / f"pkg{i % 97}" / f"sub{i % 7}"
        pkg.mkdir(parents=True, exist_ok=True)
        if i % 20 == 0:
            (pkg / f"ai_{i}.py").write_text(rng.choice(AI_PY).format(i=i), encoding="utf-8")
        elif i % 3 == 0:
            (pkg / f"w{i}.tsx").write_text(PLAIN_TS.format(i=i), encoding="utf-8")
        else:
            (pkg / f"m{i}.py").write_text(PLAIN_PY.format(i=i), encoding="utf-8")
    (root / "requirements.txt").write_text("openai==1.54.0\nchromadb\nanthropic>=0.39\n")
    (root / "package.json").write_text(json.dumps({"dependencies": {"ai": "^4.0.0"}}))
    (root / ".mcp.json").write_text(
        json.dumps({"mcpServers": {"fs": {"command": "npx", "args": ["-y", "server-fs"]}}})
    )
    (root / "docker-compose.yml").write_text(
        "services:\n  ollama:\n    image: ollama/ollama\n    ports: ['11434:11434']\n"
    )
    nm = root / "node_modules" / "openai"
    nm.mkdir(parents=True)
    for i in range(500):
        (nm / f"f{i}.js").write_text('module.exports = require("openai");\n')


def main() -> None:
    """Generate the repository, run discovery once, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from threatgraph.features.discover import discover
    from threatgraph.features.discover.draft import draft

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        generate(root, args.files, args.seed)
        start = time.perf_counter()
        found = discover(root)
        scanned = time.perf_counter() - start
        text = draft(found, "bench")
        total = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"files={args.files} read={found.files_read} components={len(found.components)} "
        f"discover={scanned:.2f}s with draft={total:.2f}s draft_lines={text.count(chr(10))} "
        f"peak_rss={peak:.0f}MB"
    )


if __name__ == "__main__":
    main()
