"""Read a list to screen in chunks: CSV, plain list (one number a line) or Parquet.

Every reader streams record batches of a bounded size (pyarrow's streaming CSV reader, or the
row groups of a Parquet file), so memory stays flat whatever the size of the file. CSV and list
values are read as text, exactly as written, so the rows written back out are the rows read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from consentry.errors import InvalidInput

BLOCK_SIZE = 8 << 20  # bytes of CSV parsed at a time (about 600,000 short rows)
PARQUET_BATCH = 1 << 20  # rows of a Parquet file read at a time
LIST_COLUMN = "number"
_LIST_DELIMITER = "\x1f"  # a character no list line contains: the whole line is the value


class ListFormat(StrEnum):
    """The formats a list to screen may come in."""

    CSV = "csv"
    LIST = "list"
    PARQUET = "parquet"


def guess_format(name: str) -> ListFormat:
    """The format of a file by its name: ``.parquet``/``.pq``, ``.txt``/``.lst``, else CSV."""
    suffix = Path(name).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return ListFormat.PARQUET
    if suffix in (".txt", ".lst", ".list"):
        return ListFormat.LIST
    return ListFormat.CSV


Input = str | os.PathLike[str] | bytes


@dataclass
class ListSource:
    """An open list: its batches, the column to screen, and how far reading has got.

    ``unit`` is ``"bytes"`` (CSV and list) or ``"rows"`` (Parquet); ``total`` is the size in
    that unit when known, and :meth:`position` how much has been read so far.
    """

    format: ListFormat
    column: str
    schema: pa.Schema
    unit: str
    total: int | None
    _batches: Iterator[pa.RecordBatch]
    _handle: Any = None
    _rows: int = 0
    _closers: list[Any] = field(default_factory=list)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The record batches of the list, in order (read once)."""
        try:
            for batch in self._batches:
                self._rows += batch.num_rows
                yield batch
        except pa.ArrowInvalid as error:
            raise InvalidInput(
                f"cannot read the {self.format} file: {error}", field="file"
            ) from None
        finally:
            self.close()

    def position(self) -> int:
        """Bytes (CSV, list) or rows (Parquet) read so far."""
        if self.unit == "rows" or self._handle is None:
            return self._rows
        try:
            return int(self._handle.tell())
        except (OSError, ValueError):
            return self.total or 0

    def close(self) -> None:
        for closer in self._closers:
            closer.close()
        self._closers.clear()


def open_list(
    source: Input, column: str | None, list_format: ListFormat | None = None
) -> ListSource:
    """Open ``source`` (a path, or the file's bytes) for screening ``column``.

    A plain list has one column, named ``column`` (default ``number``). Raises
    :class:`InvalidInput` naming the file or the column when the file cannot be read or has no
    such column.
    """
    if list_format is None:
        list_format = (
            guess_format(os.fspath(source)) if not isinstance(source, bytes) else ListFormat.CSV
        )
    try:
        if list_format is ListFormat.PARQUET:
            return _open_parquet(source, column)
        return _open_text(source, column, list_format)
    except FileNotFoundError:
        raise InvalidInput(f"no file {os.fspath(source)!r}", field="file") from None
    except (OSError, pa.ArrowException) as error:
        raise InvalidInput(f"cannot read the {list_format} file: {error}", field="file") from None


def _stream(source: Input) -> tuple[IO[bytes] | pa.BufferReader, int | None]:
    if isinstance(source, bytes):
        return pa.BufferReader(source), len(source)
    path = Path(source)
    if path.is_dir():
        raise InvalidInput(f"{os.fspath(source)!r} is a directory, not a file", field="file")
    handle = path.open("rb")
    return handle, path.stat().st_size


def _open_text(source: Input, column: str | None, list_format: ListFormat) -> ListSource:
    if list_format is ListFormat.LIST:
        name = column or LIST_COLUMN
        read = pa_csv.ReadOptions(block_size=BLOCK_SIZE, column_names=[name])
        parse = pa_csv.ParseOptions(delimiter=_LIST_DELIMITER, quote_char=False)
        names = [name]
    else:
        if not column:
            raise InvalidInput("name the column that holds the phone numbers", field="column")
        name = column
        read = pa_csv.ReadOptions(block_size=BLOCK_SIZE)
        parse = pa_csv.ParseOptions()
        names = _header(source, read, parse)
        if name not in names:
            raise InvalidInput(
                f"the file has no column {name!r} (its columns: {', '.join(names) or 'none'})",
                field="column",
            )
    convert = pa_csv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    handle, total = _stream(source)
    try:
        reader = pa_csv.open_csv(
            handle, read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowInvalid as error:
        handle.close()
        if "Empty CSV file" in str(error):
            schema = pa.schema([(n, pa.string()) for n in names])
            return ListSource(list_format, name, schema, "bytes", total, iter(()))
        raise
    return ListSource(
        list_format, name, reader.schema, "bytes", total, iter(reader), handle, 0, [reader, handle]
    )


def _header(source: Input, read: pa_csv.ReadOptions, parse: pa_csv.ParseOptions) -> list[str]:
    """The column names of a CSV file (pyarrow parses its first block to find them)."""
    handle, _ = _stream(source)
    try:
        with pa_csv.open_csv(handle, read_options=read, parse_options=parse) as reader:
            return list(reader.schema.names)
    except pa.ArrowInvalid as error:
        if "Empty CSV file" in str(error):
            raise InvalidInput("the file is empty", field="file") from None
        raise
    finally:
        handle.close()


def _open_parquet(source: Input, column: str | None) -> ListSource:
    if not column:
        raise InvalidInput("name the column that holds the phone numbers", field="column")
    handle = pa.BufferReader(source) if isinstance(source, bytes) else source
    parquet = pq.ParquetFile(handle)
    schema = parquet.schema_arrow
    if column not in schema.names:
        raise InvalidInput(
            f"the file has no column {column!r} (its columns: {', '.join(schema.names)})",
            field="column",
        )
    return ListSource(
        ListFormat.PARQUET,
        column,
        schema,
        "rows",
        parquet.metadata.num_rows,
        parquet.iter_batches(batch_size=PARQUET_BATCH),
        None,
        0,
        [parquet],
    )
