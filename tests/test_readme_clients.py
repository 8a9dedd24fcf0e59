"""The README's "Docent from LangChain / the openai SDK / llm / Open WebUI" examples run as
written against a running `docent serve`.

The blocks are read from README.md, not retyped: the Python ones are run with `TOKEN`
set, the `llm` one with bash (llm's own folder in a scratch place); only the server's
address is put in for the README's `http://127.0.0.1:8502`. Open WebUI is not run: what it
asks for (the model list, a streamed answer) is asked as it asks. The chat model is the
fake Ollama at the HTTP edge; the rest is real.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from models.embedder import Embedder
from tests.fake_ollama import FakeOllama
from tests.http_server import running
from tests.http_setup import api_docent, token_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TITLE = "### Docent from LangChain / the openai SDK / llm / Open WebUI"
README_URL = "http://127.0.0.1:8502"
CONTRACT = (
    "# Employment contract\n\n## Notice\n\nThe notice period is three months for either "
    "side after the probation period. Either side may end the contract in writing.\n"
)


def examples() -> list[tuple[str, str]]:
    """The section's code blocks: (language, code)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(TITLE, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return re.findall(r"```(python|bash)\n(.*?)```", section, re.DOTALL)


def test_the_section_has_an_example_per_client() -> None:
    found = examples()
    assert [language for language, _ in found] == ["python", "python", "bash"]
    assert "from openai import OpenAI" in found[0][1]
    assert "from langchain_openai import ChatOpenAI" in found[1][1]
    assert "llm -m docent-legal" in found[2][1]


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, answering_ollama: FakeOllama
) -> Iterator[tuple[str, str]]:
    root = tmp_path_factory.mktemp("readme-clients")
    share = root / "share"
    share.mkdir()
    (share / "contract.md").write_text(CONTRACT, encoding="utf-8")
    docent = api_docent(root, embedder, answering_ollama.url, api_rate_per_minute=1000)
    docent.ingest([share], "legal")
    token = token_for(docent, "alice")
    docent.grant("alice", "legal")
    with running(docent) as url:
        yield url, token


@pytest.mark.parametrize("number", [0, 1], ids=["openai SDK", "LangChain"])
def test_the_python_examples_print_a_cited_answer(served: tuple[str, str], number: int) -> None:
    url, token = served
    code = examples()[number][1].replace(README_URL, url)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, f"README.md example {number + 1}", "exec"), {"TOKEN": token})
    text = printed.getvalue()
    assert "contract.md" in text and "three months" in text, text


def test_the_llm_example_prints_a_cited_answer(served: tuple[str, str], tmp_path: Path) -> None:
    url, token = served
    script = examples()[2][1].replace(README_URL, url)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "LLM_USER_PATH": str(tmp_path / "llm"),
        "TOKEN": token,
    }
    (tmp_path / "llm").mkdir()
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "contract.md" in done.stdout and "three months" in done.stdout, done.stdout


def test_what_open_webui_asks_for_is_answered(served: tuple[str, str]) -> None:
    url, token = served
    headers = {"Authorization": f"Bearer {token}"}
    models = httpx.get(f"{url}/v1/models", headers=headers, timeout=30).json()
    assert [m["id"] for m in models["data"]] == ["docent:legal"]
    asked = {
        "model": "docent:legal",
        "stream": True,
        "messages": [{"role": "user", "content": "How long is the notice period?"}],
    }
    streamed = httpx.post(f"{url}/v1/chat/completions", json=asked, headers=headers, timeout=300)
    lines = [line[6:] for line in streamed.text.splitlines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    text = "".join(
        choice["delta"].get("content") or ""
        for line in lines[:-1]
        for choice in json.loads(line)["choices"]
    )
    assert "[1] contract.md" in text and "three months" in text, text
