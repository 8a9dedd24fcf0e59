"""An ``Answer`` as JSON and back, so a saved conversation shows what was shown.

Everything the Ask page draws is kept: the text, the quotes with their citations and
spans, the passages they stand in, the trust state and the timings. Only plain data
is stored (no pickles): reading a record builds the dataclasses again field by field.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from rag.answer import Answer, AnswerSentence, Citation
from rag.context import Source
from rag.retrieve import Passage


def answer_to_json(answer: Answer) -> str:
    """The answer as a JSON object."""
    return json.dumps(asdict(answer), ensure_ascii=False, separators=(",", ":"))


def _citation(data: dict[str, Any]) -> Citation:
    return Citation(**(data | {"also_in": tuple(data.get("also_in", ()))}))


def answer_from_json(text: str) -> Answer:
    """The answer a JSON object of ``answer_to_json`` holds."""
    data: dict[str, Any] = json.loads(text)
    data["citations"] = [_citation(c) for c in data.get("citations", [])]
    data["sentences"] = [
        AnswerSentence(s["text"], _citation(s["citation"])) for s in data.get("sentences", [])
    ]
    data["evidence"] = [_source(s) for s in data.get("evidence", [])]
    return Answer(**data)


def _source(data: dict[str, Any]) -> Source:
    passages = [Passage(**(p | {"also_in": tuple(p.get("also_in", ()))})) for p in data["passages"]]
    return Source(**(data | {"passages": passages}))
