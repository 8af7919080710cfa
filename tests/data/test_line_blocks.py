"""The CSV fast path's block splitter: whole lines, nothing lost, any line length."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from harness.plugins.data.loader import _line_blocks


@given(
    lines=st.lists(st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")), max_size=200),
    tail=st.booleans(),
    size=st.integers(min_value=1, max_value=300),
)
def test_blocks_are_whole_lines_and_lose_nothing(lines: list[bytes], tail: bool, size: int) -> None:
    data = b"".join(line + b"\n" for line in lines) + (b"no newline at the end" if tail else b"")
    blocks = list(_line_blocks(io.BufferedReader(io.BytesIO(data)), size))  # type: ignore[arg-type]
    assert b"".join(blocks) == data
    assert all(block.endswith(b"\n") for block in blocks[:-1])
    assert all(blocks)
