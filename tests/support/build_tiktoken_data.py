"""Build the offline o200k_base rank file that cligate ships in router/_data/tiktoken/.

tiktoken downloads its BPE rank files on first use, which fails on an offline machine. The npm
package js-tiktoken carries the same ranks in a compressed form; this dev tool expands them into
the exact bytes of the official file and stores them under the name tiktoken uses as its cache
key, so that TIKTOKEN_CACHE_DIR=router/_data/tiktoken makes tiktoken work without a network.

Run once, from the repository root (the output file is committed):

    python -m tests.support.build_tiktoken_data              # runs `npm pack` in a temp dir
    python -m tests.support.build_tiktoken_data PKG.tgz      # or reuse a packed tarball

Compressed format (js-tiktoken dist/ranks/<name>.cjs): `module.exports = {JSON};` whose
`bpe_ranks` string holds newline-separated lines `<key> <offset> <b64> <b64> ...`; the n-th
base64 token on a line (counting from 0) has rank `offset + n`; `<key>` carries no information.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

NPM_PACKAGE = "js-tiktoken@1.0.21"
RANKS_MEMBER = "package/dist/ranks/o200k_base.cjs"
SOURCE_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
# The hash tiktoken itself declares for this file (tiktoken_ext/openai_public.py).
EXPECTED_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
EXPECTED_SIZE = 3_613_922
OUTPUT_DIR = Path(__file__).resolve().parents[2] / "router" / "_data" / "tiktoken"
CJS_PREFIX = "module.exports = "


def cache_file_name(url: str) -> str:
    """Name tiktoken's read_file_cached looks for inside TIKTOKEN_CACHE_DIR."""
    return hashlib.sha1(url.encode()).hexdigest()


def pack_npm_package(workdir: Path) -> Path:
    subprocess.run(["npm", "pack", NPM_PACKAGE], cwd=workdir, check=True, capture_output=True)
    return next(workdir.glob("js-tiktoken-*.tgz"))


def read_ranks_module(tarball: Path) -> str:
    with tarfile.open(tarball) as archive:
        member = archive.extractfile(RANKS_MEMBER)
        if member is None:
            raise ValueError(f"{RANKS_MEMBER} is not a regular file in {tarball}")
        return member.read().decode("utf-8")


def parse_ranks(module_source: str) -> dict[int, str]:
    """Map rank -> base64 token from the compressed `bpe_ranks` string."""
    body = module_source.strip().removeprefix(CJS_PREFIX).removesuffix(";")
    compressed: str = json.loads(body)["bpe_ranks"]
    ranks: dict[int, str] = {}
    for line in filter(None, compressed.split("\n")):
        _key, offset, *tokens = line.split(" ")
        for index, token in enumerate(tokens):
            ranks[int(offset) + index] = token
    return ranks


def expand(ranks: dict[int, str]) -> bytes:
    # The official file lists tokens in rank order, one `<base64> <rank>` per line.
    lines = (f"{ranks[rank]} {rank}\n" for rank in sorted(ranks))
    return "".join(lines).encode("ascii")


def verify(data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != EXPECTED_SHA256 or len(data) != EXPECTED_SIZE:
        raise ValueError(f"expanded file differs from the official one: {digest}, {len(data)} B")
    # Every token must be valid base64, as tiktoken decodes them all at load time.
    for line in data.splitlines():
        base64.b64decode(line.split(b" ")[0], validate=True)


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_bytes(data)
    temp.replace(path)


def build(tarball: Path | None) -> Path:
    with tempfile.TemporaryDirectory() as workdir:
        source = tarball or pack_npm_package(Path(workdir))
        data = expand(parse_ranks(read_ranks_module(source)))
    verify(data)
    output = OUTPUT_DIR / cache_file_name(SOURCE_URL)
    write_atomically(output, data)
    return output


def main(argv: list[str]) -> None:
    tarball = Path(argv[0]) if argv else None
    print(build(tarball))


if __name__ == "__main__":
    main(sys.argv[1:])
