"""Hostile settings files, environment values and ``classify`` stdin: a clear error line
(ConfigError / "error: ..." with exit status 2) or a result, never a traceback."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from click.testing import CliRunner
from fuzz_budget import FUZZ, bounded_memory
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel

from foundation.errors import ConfigError
from foundation.settings import CONFIG_ENV, Settings, load_settings

any_text = st.text(
    st.one_of(
        st.characters(exclude_categories=()),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        st.sampled_from('"\\[]{}=#.\n\t \x00'),
    ),
    max_size=80,
)


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    """Section -> field names of the settings (so generated files hit real keys)."""
    out: dict[str, Any] = {}
    for name, f in model.model_fields.items():
        ann = f.annotation
        out[name] = _fields(ann) if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return out


FIELDS = _fields(Settings)
scalar = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    any_text,
    st.sampled_from(["", "sqlite:///x.db", "kafka://h:1", "DEBUG", "cuda", "1e999"]),
)
value = st.recursive(scalar, lambda v: st.lists(v, max_size=3), max_leaves=6)


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v) if v == v and v not in (float("inf"), float("-inf")) else "nan"
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(v)  # a TOML basic string, except that "\ud800" escapes are refused


@st.composite
def settings_files(draw: Any) -> str:
    lines: list[str] = []
    top = draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=5, unique=True))
    for key in top:
        sub = FIELDS[key]
        if sub is None:
            lines.insert(0, f"{key} = {toml_value(draw(value))}")
        else:
            lines.append(f"[{key}]")
            names = [*sorted(sub), "typo"]  # and a misspelt key
            for name in draw(st.lists(st.sampled_from(names), max_size=4, unique=True)):
                lines.append(f"{name} = {toml_value(draw(value))}")
    if draw(st.booleans()):
        lines.append(draw(any_text))  # and a line of noise
    return "\n".join(lines)


def _load(path: str) -> None:
    before = os.environ.get(CONFIG_ENV)
    try:
        load_settings(path)
    except ConfigError:
        pass
    finally:
        if before is None:
            os.environ.pop(CONFIG_ENV, None)
        else:
            os.environ[CONFIG_ENV] = before


@FUZZ
@given(text=st.one_of(settings_files(), any_text), raw=st.binary(max_size=200))
@example(text="a = " + "[" * 50_000, raw=b"")
@example(text="", raw=b"\xff\xfe[broker]\n")
@example(text='[store]\nurl = "\\ud800"', raw=b"")
def test_settings_loader_gives_settings_or_a_config_error(tmp_path_factory, text, raw):
    path = tmp_path_factory.mktemp("cfg", numbered=True) / "finpulse.toml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass") + raw)
    bounded_memory(lambda: _load(str(path)))


ENV_KEYS = [
    "FINPULSE_LOG_LEVEL",
    "FINPULSE_DATA_DIR",
    "FINPULSE_BROKER__URL",
    "FINPULSE_BROKER__PARTITIONS",
    "FINPULSE_SINKS",
    "FINPULSE_DASHBOARD__USERS",
    "FINPULSE_DASHBOARD__PORT",
    "FINPULSE_INGEST__SOURCES",
    "FINPULSE_INGEST__ALLOW_NETWORKS",
    "FINPULSE_MODEL__MAX_LENGTH",
    "FINPULSE_ALERTS__RULES",
]
env_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=80
)


@FUZZ
@given(
    env=st.dictionaries(
        st.sampled_from(ENV_KEYS),
        st.one_of(env_text, st.sampled_from(['[{"name": 1}]', "{}", "[]", "null", '{"a": "b"}'])),
    )
)
def test_environment_values_give_settings_or_a_config_error(env):
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        load_settings()
    except ConfigError:
        pass
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --- classify's stdin --------------------------------------------------------------------------

json_line = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), any_text),
    lambda v: st.lists(v, max_size=3) | st.dictionaries(any_text, v, max_size=3),
    max_leaves=8,
).map(lambda v: json.dumps(v))
classify_input = st.lists(
    st.one_of(
        st.builds(
            lambda t, i: json.dumps({"text": t, "id": i}),
            any_text,
            st.one_of(st.none(), any_text, st.integers()),
        ),
        st.builds(lambda t: json.dumps(t), any_text),
        json_line,
        any_text,
    ),
    max_size=6,
).map(lambda lines: "\n".join(lines).encode("utf-8", errors="surrogatepass"))


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@FUZZ
@given(stdin=st.one_of(classify_input, st.binary(max_size=400)))
@example(stdin=b'{"text": "good \\ud800 news"}\n')  # the reported crash
@example(stdin=b'{"text": "bad \xff\xfe bytes", "id": "\\udfff"}\n')
@example(stdin=b"[" * 100_000)
@example(stdin=b'"\\u0085"\n{"text": "a\\u2028b"}')  # found by a long run: line breaks in text
def test_classify_stdin_never_crashes(runner, stdin):
    from cli.main import main

    res = runner.invoke(main, ["classify", "--model", "baseline"], input=stdin)
    if res.exit_code == 0:
        # JSON Lines are split on "\n" only: U+0085 or U+2028 inside a string are text.
        for line in filter(None, res.stdout.split("\n")):
            row = json.loads(line)
            assert {"text", "topic", "sentiment"} <= set(row)
            line.encode("utf-8")
    else:
        assert res.exit_code == 2, (res.exit_code, res.exception, res.output[-500:])
        assert "error: stdin line" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception


def test_classify_process_with_hostile_stdin_prints_results(tmp_path):
    # The real process: its stdin is bytes, decoded by classify, not by Python's stdin.
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "classify", "--model", "baseline"],
        input=b'{"text": "good \\ud800 news"}\n{"text": "bad \xff\xfe bytes"}\n',
        capture_output=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-800:]
    rows = [json.loads(x) for x in proc.stdout.decode("utf-8").splitlines()]
    assert [r["text"] for r in rows] == ["good \ufffd news", "bad \ufffd\ufffd bytes"]
