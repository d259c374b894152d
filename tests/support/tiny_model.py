"""A tiny random-weight GGUF model with the real qwen2 tokenizer, for a real llama.cpp server.

No model hub is reachable from the test machines, so the tests serve a 2-layer llama whose weights
are random: its answers are gibberish, but tokenization, chat templating, streaming and usage are
real. The file (~84 MB) is generated once per machine into a cache keyed by every input that
shapes it, so changing a parameter, the template or the vocabulary yields a new file.
"""

import hashlib
import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter, LlamaFileType

REPO_ROOT = Path(__file__).resolve().parents[2]
VOCAB_FILE = REPO_ROOT / "fixtures" / "vocab" / "ggml-vocab-qwen2.gguf"
CACHE_ENV = "CLIGATE_TEST_CACHE"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "cligate-tests"

# ChatML as Qwen models use it. Written for the server's Jinja renderer, it accepts what OpenAI
# clients send: content as a string, as a list of parts, or null next to tool_calls.
CHAT_TEMPLATE = r"""
{%- macro render_content(content) -%}
{%- if content is string -%}
{{- content -}}
{%- elif content is iterable -%}
{%- for part in content if part.type == 'text' -%}
{{- part.text -}}
{%- endfor -%}
{%- endif -%}
{%- endmacro -%}
{%- if messages and messages[0].role == 'system' -%}
{%- set system_text = render_content(messages[0].content) -%}
{%- set conversation = messages[1:] -%}
{%- else -%}
{%- set system_text = 'You are a helpful assistant.' -%}
{%- set conversation = messages -%}
{%- endif -%}
{{- '<|im_start|>system\n' + system_text -}}
{%- if tools -%}
{{- '\n\n# Tools\n\nFunction signatures are inside <tools></tools>:\n<tools>' -}}
{%- for tool in tools -%}
{{- '\n' + (tool | tojson) -}}
{%- endfor -%}
{{- '\n</tools>\n\nTo call a function, reply with' -}}
{{- ' <tool_call>{"name": ..., "arguments": ...}</tool_call>.' -}}
{%- endif -%}
{{- '<|im_end|>\n' -}}
{%- for message in conversation -%}
{%- if message.role == 'tool' -%}
{{- '<|im_start|>user\n<tool_response>\n' + render_content(message.content) -}}
{{- '\n</tool_response><|im_end|>\n' -}}
{%- elif message.role == 'assistant' -%}
{{- '<|im_start|>assistant\n' + render_content(message.content) -}}
{%- for call in message.tool_calls or [] -%}
{%- set arguments = call.function.arguments -%}
{{- '\n<tool_call>\n{"name": ' + (call.function.name | tojson) + ', "arguments": ' -}}
{{- (arguments if arguments is string else arguments | tojson) + '}\n</tool_call>' -}}
{%- endfor -%}
{{- '<|im_end|>\n' -}}
{%- else -%}
{{- '<|im_start|>' + message.role + '\n' + render_content(message.content) + '<|im_end|>\n' -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\n' -}}
{%- endif -%}
""".strip()


@dataclass(frozen=True)
class TinyModelSpec:
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    n_head_kv: int = 2
    n_ff: int = 128
    # Claude Code's first request alone is 10-13k tokens, so the model must declare a large window.
    context_length: int = 32768
    rope_freq_base: float = 10000.0
    rms_eps: float = 1e-5
    weight_std: float = 0.02
    seed: int = 0


def cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else DEFAULT_CACHE_DIR


def cache_key(spec: TinyModelSpec, vocab: Path) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(asdict(spec), sort_keys=True).encode())
    digest.update(CHAT_TEMPLATE.encode())
    digest.update(hashlib.sha256(vocab.read_bytes()).digest())
    return digest.hexdigest()[:16]


def ensure_tiny_model(spec: TinyModelSpec | None = None, vocab: Path = VOCAB_FILE) -> Path:
    """Return the path of the model file for `spec`, generating it on first use."""
    spec = spec or TinyModelSpec()
    path = cache_dir() / f"tiny-llama-{cache_key(spec, vocab)}.gguf"
    if not path.exists():
        write_atomically(path, spec, vocab)
    return path


def write_atomically(path: Path, spec: TinyModelSpec, vocab: Path) -> None:
    # A unique temp name lets concurrent sessions generate side by side; the rename is atomic,
    # so a crash mid-write never leaves a truncated model under the final name.
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write_model(temp, spec, vocab)
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)


def write_model(path: Path, spec: TinyModelSpec, vocab: Path) -> None:
    writer = GGUFWriter(path, "llama")
    add_hyperparameters(writer, spec)
    n_vocab = copy_tokenizer(writer, vocab)
    writer.add_chat_template(CHAT_TEMPLATE)
    add_tensors(writer, spec, n_vocab, np.random.default_rng(spec.seed))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def add_hyperparameters(writer: GGUFWriter, spec: TinyModelSpec) -> None:
    writer.add_name("cligate tiny test model")
    writer.add_block_count(spec.n_layer)
    writer.add_context_length(spec.context_length)
    writer.add_embedding_length(spec.n_embd)
    writer.add_feed_forward_length(spec.n_ff)
    writer.add_head_count(spec.n_head)
    writer.add_head_count_kv(spec.n_head_kv)
    writer.add_rope_dimension_count(spec.n_embd // spec.n_head)
    writer.add_rope_freq_base(spec.rope_freq_base)
    writer.add_layer_norm_rms_eps(spec.rms_eps)
    writer.add_file_type(LlamaFileType.ALL_F32)


def copy_tokenizer(writer: GGUFWriter, vocab: Path) -> int:
    """Copy every tokenizer.ggml.* key from the vocab-only file; return the vocabulary size."""
    fields = GGUFReader(vocab).fields
    for name, field in fields.items():
        if not name.startswith("tokenizer.ggml."):
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == GGUFValueType.ARRAY else None
        writer.add_key_value(name, field.contents(), value_type, sub_type)
    return len(fields["tokenizer.ggml.tokens"].data)


def add_tensors(
    writer: GGUFWriter, spec: TinyModelSpec, n_vocab: int, rng: np.random.Generator
) -> None:
    # Shapes are numpy order (rows, columns), the reverse of ggml's ne order llama.cpp checks.
    n_embd_kv = spec.n_embd // spec.n_head * spec.n_head_kv
    shapes: dict[str, tuple[int, ...]] = {"token_embd.weight": (n_vocab, spec.n_embd)}
    for block in range(spec.n_layer):
        prefix = f"blk.{block}."
        shapes |= {
            prefix + "attn_norm.weight": (spec.n_embd,),
            prefix + "attn_q.weight": (spec.n_embd, spec.n_embd),
            prefix + "attn_k.weight": (n_embd_kv, spec.n_embd),
            prefix + "attn_v.weight": (n_embd_kv, spec.n_embd),
            prefix + "attn_output.weight": (spec.n_embd, spec.n_embd),
            prefix + "ffn_norm.weight": (spec.n_embd,),
            prefix + "ffn_gate.weight": (spec.n_ff, spec.n_embd),
            prefix + "ffn_up.weight": (spec.n_ff, spec.n_embd),
            prefix + "ffn_down.weight": (spec.n_embd, spec.n_ff),
        }
    # An untied output matrix: with tied embeddings, greedy decoding only repeats the last prompt
    # token, which makes stop sequences and length limits untestable.
    shapes |= {"output_norm.weight": (spec.n_embd,), "output.weight": (n_vocab, spec.n_embd)}
    for name, shape in shapes.items():
        weights = rng.standard_normal(shape, dtype=np.float32) * np.float32(spec.weight_std)
        writer.add_tensor(name, weights)
