"""The sync's bulk inserts (apps.mail.bulk): JSON values written exactly as json.dumps writes them."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from apps.mail.bulk import _json

SHAPES: list[Any] = [[], ["ab"], ["$Label", "x"], [["a", "b"]], [("a", "b")], [["a", "b", "c"]], [["a", 1]]]
ODD: list[Any] = [[{"a": 1, "b": 2}], [["a", "b"], "cd"], {"k": [1]}, None, "x", 1.5, [['C "C" \\ \n\x00', "c@x"]]]


@pytest.mark.parametrize("value", [*SHAPES, *ODD])
def test_json_values_are_written_as_json_dumps_writes_them(value: Any) -> None:
    assert _json(value) == json.dumps(value, ensure_ascii=False)


def test_random_address_pairs_are_written_as_json_dumps_writes_them() -> None:
    rng = random.Random(3)
    characters = ["a", "é", '"', "\\", "\n", "\x00", "\x1f", "\u2028", "\U0001d11e", " ", ",", "[", "]"]
    for _trial in range(2000):
        pairs = [["".join(rng.choices(characters, k=rng.randint(0, 5))) for _ in range(2)] for _ in range(3)]

        assert _json(pairs) == json.dumps(pairs, ensure_ascii=False)
