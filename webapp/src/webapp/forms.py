"""multipart/form-data parsing with python-multipart, for Werkzeug's request object.

Werkzeug's own multipart parser searches each chunk with regular expressions; for a typical
upload (~80 KB JPEG) it costs more than all of Flask's other work on the request, about 0.3 ms
on a small machine, and several times that under load. python-multipart (the parser Starlette
uses) finds boundaries with `bytes.find`. This class keeps Werkzeug's interface and limits:
`max_form_parts` and `max_form_memory_size` raise 413, a malformed body parses as an empty form
(as Werkzeug's parser does by default), field values are UTF-8 (as in Werkzeug 3), and files stay
in memory (the request body is already bounded by MAX_CONTENT_LENGTH).
"""

from __future__ import annotations

import io
from typing import IO, TYPE_CHECKING, Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser
from werkzeug.datastructures import FileStorage, Headers
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.http import parse_options_header

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

__all__ = ["FastFormDataParser"]

_CHUNK = 64 * 1024


class _Parts:
    """Collects the parts python-multipart reports through its callbacks."""

    def __init__(self, max_parts: int | None) -> None:
        self.max_parts = max_parts
        self.parts: list[tuple[Headers, bytes]] = []
        self._headers = Headers()
        self._field = bytearray()
        self._value = bytearray()
        self._data: list[bytes] = []

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda data, start, end: self._field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_part_data": lambda data, start, end: self._data.append(data[start:end]),
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        if self.max_parts is not None and len(self.parts) >= self.max_parts:
            raise RequestEntityTooLarge(f"More than {self.max_parts} form parts.")
        self._headers, self._data = Headers(), []

    def _header_end(self) -> None:
        self._headers.add(self._field.decode("latin-1"), self._value.decode("latin-1"))
        self._field.clear()
        self._value.clear()

    def _end(self) -> None:
        self.parts.append((self._headers, b"".join(self._data)))


class FastFormDataParser(FormDataParser):
    """Werkzeug's FormDataParser with the multipart part done by python-multipart."""

    def _parse_multipart(
        self, stream: IO[bytes], mimetype: str, content_length: int | None, options: dict[str, str]
    ) -> tuple[IO[bytes], Any, Any]:
        boundary = options.get("boundary", "").encode("latin-1")
        if not boundary:
            raise ValueError("Missing boundary")
        collected = _Parts(self.max_form_parts)
        parser = MultipartParser(boundary, collected.callbacks())
        try:
            while chunk := stream.read(_CHUNK):
                parser.write(chunk)
            parser.finalize()
        except MultipartParseError as exc:
            raise ValueError(f"malformed multipart body: {exc}") from None
        fields: list[tuple[str, str]] = []
        files: list[tuple[str, FileStorage]] = []
        field_bytes = 0
        for headers, data in collected.parts:
            disposition, params = parse_options_header(headers.get("Content-Disposition"))
            name = params.get("name")
            if disposition != "form-data" or name is None:
                continue
            if "filename" in params:
                storage = FileStorage(
                    io.BytesIO(data), params["filename"], name, headers.get("Content-Type"), headers=headers
                )
                files.append((name, storage))
                continue
            field_bytes += len(data)
            if self.max_form_memory_size is not None and field_bytes > self.max_form_memory_size:
                raise RequestEntityTooLarge("The form's fields are too large.")
            fields.append((name, data.decode("utf-8", "replace")))
        return stream, self.cls(fields), self.cls(files)
