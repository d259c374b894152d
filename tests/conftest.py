from collections.abc import Iterator

import pytest

from tests.support.llama_server import LlamaServer, start_llama_server


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """One real llama.cpp server, serving the tiny model, shared by the whole session."""
    with start_llama_server() as server:
        yield server
