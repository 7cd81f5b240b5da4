"""Property-based: whatever text a user writes into any text field, loading succeeds or fails cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kzreport.errors import InputError
from kzreport.loader import load_source, parse_yaml, read_text

from .conftest import FIXTURES

BASE, _ = parse_yaml(read_text(FIXTURES / "minimal.yaml"), "minimal.yaml")
TEXT_FIELDS = [("meta", "title"), ("meta", "short_title"), ("thesis",), ("judgments", 0, "text"),
               ("sections", 0, "title"), ("sections", 0, "headline", "text"), ("sections", 0, "headline", "passage"),
               ("figures", 0, "display"), ("sources", 0, "title")]


def with_value(loc: tuple, value: str) -> dict:
    """Return a deep copy of the minimal source with ``value`` at ``loc``."""
    data = json.loads(json.dumps(BASE))
    node = data
    for part in loc[:-1]:
        node = node[part]
    node[loc[-1]] = value
    return data


# ruamel.yaml reads NEL, LS and PS as line breaks (as YAML 1.1 did) and folds them inside quotes.
NO_YAML_11_BREAKS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x85\u2028\u2029")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(loc=st.sampled_from(TEXT_FIELDS), value=st.text(alphabet=NO_YAML_11_BREAKS, max_size=200))
def test_any_text_loads_or_fails_cleanly(tmp_path: Path, loc, value):
    path = tmp_path / "prop.yaml"
    path.write_text(json.dumps(with_value(loc, value), ensure_ascii=False), encoding="utf-8")
    try:
        brief = load_source(path)
    except InputError as exc:
        assert all(p.line >= 1 or p.path == "" for p in exc.problems)
        assert str(exc)
        return
    node = brief
    for part in loc:
        node = node[part] if isinstance(part, int) else getattr(node, part)
    assert node == value.strip()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300))
def test_any_bytes_load_or_fail_cleanly(tmp_path: Path, raw: bytes):
    path = tmp_path / "raw.yaml"
    path.write_bytes(raw)
    with pytest.raises(InputError):
        load_source(path)
