"""The multipart parser: same results and limits as Werkzeug's, on the same bodies."""

from __future__ import annotations

import io

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.test import encode_multipart

from webapp.forms import FastFormDataParser


def _parse(parser: FormDataParser, boundary: str, body: bytes) -> tuple[MultiDict, MultiDict]:  # type: ignore[type-arg]
    _, form, files = parser.parse(io.BytesIO(body), "multipart/form-data", len(body), {"boundary": boundary})
    return form, files


def test_same_fields_and_files_as_werkzeug() -> None:
    image = bytes(range(256)) * 400 + b"\r\n--not-the-boundary\r\n"
    boundary, body = encode_multipart(
        MultiDict(
            [
                ("model", "fer-emotion"),
                ("top_k", "3"),
                ("note", "caf\u00e9"),
                ("file", FileStorage(io.BytesIO(image), "../../etc/cat.jpg", content_type="image/jpeg")),
            ]
        )
    )
    fast_form, fast_files = _parse(FastFormDataParser(), boundary, body)
    slow_form, slow_files = _parse(FormDataParser(), boundary, body)
    assert fast_form.to_dict(flat=False) == slow_form.to_dict(flat=False)
    upload = fast_files["file"]
    reference = slow_files["file"]
    try:
        assert upload.read() == image == reference.read()
    finally:
        reference.close()  # Werkzeug's parser spools it to a temporary file
    assert upload.filename == "../../etc/cat.jpg" and upload.mimetype == "image/jpeg"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"no boundary anywhere",
        b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nunterminated',
        b"--b\r\n\r\n\r\n--b--\r\n",
    ],
)
def test_malformed_bodies_are_an_empty_form(body: bytes) -> None:
    form, files = _parse(FastFormDataParser(), "b", body)
    assert not files and "x" not in form


def test_missing_boundary_is_an_empty_form() -> None:
    _, form, files = FastFormDataParser().parse(io.BytesIO(b"x"), "multipart/form-data", 1, {})
    assert not form and not files


def test_too_many_parts_is_413() -> None:
    boundary, body = encode_multipart(MultiDict([(f"f{i}", "v") for i in range(5)]))
    with pytest.raises(RequestEntityTooLarge):
        _parse(FastFormDataParser(max_form_parts=4), boundary, body)
    assert len(_parse(FastFormDataParser(max_form_parts=5), boundary, body)[0]) == 5


def test_fields_over_the_memory_limit_are_413_but_files_are_not_counted() -> None:
    boundary, body = encode_multipart(
        MultiDict([("a", "x" * 600), ("file", FileStorage(io.BytesIO(b"y" * 5000), "f.bin"))])
    )
    with pytest.raises(RequestEntityTooLarge):
        _parse(FastFormDataParser(max_form_memory_size=500), boundary, body)
    form, files = _parse(FastFormDataParser(max_form_memory_size=1000), boundary, body)
    assert form["a"] == "x" * 600 and files["file"].read() == b"y" * 5000
