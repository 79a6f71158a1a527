"""The live app against its own OpenAPI document: no 5xx, no response that breaks the document.

schemathesis generates requests for every operation from the document (valid ones and, in
negative mode, invalid ones) and checks each answer. Its pytest plugin (`from_fixture`) does not
work with pytest 9 (it writes `node._nodeid`), so the operations are parametrized here and each
runs schemathesis' Hypothesis strategy directly; the document is the one the package serves.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from webapp.openapi import load_document

pytestmark = pytest.mark.integration

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SCHEMA = schemathesis.openapi.from_dict(load_document())
_DOCUMENT = load_document()
# Negative generation needs something to break: operations with parameters or a body only.
CASES = [
    (path, method.upper(), mode)
    for path, item in _DOCUMENT["paths"].items()
    for method, operation in item.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or operation.get("parameters") or operation.get("requestBody")
]
EXAMPLES = 12


def test_served_document_is_the_one_tested(base_url: str) -> None:
    assert requests.get(f"{base_url}/openapi.json", timeout=10).json() == load_document()


@pytest.mark.parametrize(("path", "method", "mode"), CASES, ids=[f"{m} {p} {g.value}" for p, m, g in CASES])
def test_operation_conforms(base_url: str, path: str, method: str, mode: GenerationMode) -> None:
    operation = SCHEMA[path][method]
    with requests.Session() as session:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=base_url, session=session, checks=CHECKS, timeout=30)

        check()
