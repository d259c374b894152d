"""The test upstream is a real OpenAI-compatible server: checked here with the official SDK."""

from collections.abc import Iterator

import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from tests.support.llama_server import LlamaServer

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def client(llama_server: LlamaServer) -> Iterator[OpenAI]:
    # The server checks no key, but the SDK requires one.
    with OpenAI(base_url=llama_server.base_url, api_key="unused", max_retries=0) as client:
        yield client


def test_models_lists_the_alias(client: OpenAI, llama_server: LlamaServer) -> None:
    assert [model.id for model in client.models.list()] == [llama_server.model_alias]


def test_completion_returns_text_and_usage(client: OpenAI, llama_server: LlamaServer) -> None:
    completion = client.chat.completions.create(
        model=llama_server.model_alias, messages=MESSAGES, max_tokens=8, temperature=0
    )

    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason in {"stop", "length"}
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert 0 < completion.usage.completion_tokens <= 8
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_stream_yields_chunks_and_ends_with_finish_reason(
    client: OpenAI, llama_server: LlamaServer
) -> None:
    stream = client.chat.completions.create(
        model=llama_server.model_alias, messages=MESSAGES, max_tokens=8, temperature=0, stream=True
    )
    chunks = list(stream)

    assert chunks[0].choices[0].delta.role == "assistant"
    assert any(chunk.choices[0].delta.content for chunk in chunks)
    assert all(chunk.choices[0].finish_reason is None for chunk in chunks[:-1])
    assert chunks[-1].choices[0].finish_reason in {"stop", "length"}
