"""A CSV export read as the tool that wrote it meant it: encoding, delimiter, repeated columns and the cells' dates and numbers.

Jira, Excel and spreadsheets in other locales write CSV differently: Excel saves Windows-1252 with semicolons
where the decimal mark is a comma, Jira repeats a column once per value (Labels, Sprint, links), Jira Cloud
and Server name the same field differently (`Fix versions`, `Fix Version/s`) and wrap custom fields
(`Custom field (Story Points)`). Everything here is located at the CSV line and column it comes from, so a
problem names the cell to fix, and nothing from the csv module reaches the user unexplained.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import datetime as dt
import difflib
import io
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from planner.errors import Location, Problem, ScenarioError
from planner.source import CONTROL

MAX_ROWS = 5_000
MAX_BYTES = 64 * 1024 * 1024
WIDE_ROWS_SHOWN = 10
DELIMITERS = ",;\t|"  # in order of preference when a header splits as well on several
# Excel writes `sep=;` as the first line when asked to, and reads it back; so do we.
_SEP_LINE = re.compile(r"sep=(.)\r?\n?")


@dataclass(frozen=True)
class Record:
    """One row of the CSV: the line it starts on (a quoted cell may span lines) and its cells, one per header column."""

    line: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """The CSV's header and rows, with how it was read."""

    file: str
    header: tuple[str, ...]
    header_line: int
    records: tuple[Record, ...]
    encoding: str
    delimiter: str

    def where(self, line: int | None, column: str | None = None) -> Location:
        """The location of a cell (the first of a repeated column), or of a line."""
        index = self.header.index(column) + 1 if column and column in self.header else None
        return Location(file=self.file, line=line, column=index, path=column or "")

    def positions(self, column: str) -> list[int]:
        """Every position of a column: Jira repeats Labels, Sprint and the links, one value each."""
        return [n for n, name in enumerate(self.header) if name == column]

    def resolve(self, wanted: str) -> str | None:
        """The header's name for a column: the very name, else the same Jira field as another export spells it
        (`Story Points` is `Custom field (Story Points)`, `Fix Version/s` is `Fix versions`), when only one is."""
        if wanted in self.header:
            return wanted
        same = sorted({name for name in self.header if jira_key(name) == jira_key(wanted)})
        return same[0] if len(same) == 1 else None

    def suggestion(self, wanted: str) -> str:
        """` (did you mean 'X'?)` for the nearest header name, compared as Jira fields; else how many columns there are."""
        keys = {jira_key(name): name for name in reversed(self.header)}
        close = difflib.get_close_matches(jira_key(wanted), list(keys), n=1, cutoff=0.6)
        if close:
            return f" (did you mean '{keys[close[0]]}'?)"
        names = list(dict.fromkeys(self.header))
        if len(names) <= 12:
            return f" (the columns are {', '.join(names)})"
        return f" (none of its {len(names)} columns is close)"


def jira_key(name: str) -> str:
    """A header name as a Jira field: case and spacing aside, `Custom field (X)` is X and `Version/s` is `Versions`."""
    key = " ".join(name.casefold().split())
    custom = re.fullmatch(r"custom field \((.*)\)", key)
    if custom:
        key = custom[1].strip()
    return key.replace("/s", "s")


def encoding_name(text: str) -> str:
    """--encoding: a codec Python knows (utf-8, cp1252, latin-1, utf-16, ...)."""
    try:
        codec = codecs.lookup(text)
    except LookupError:
        codec = None
    if codec is None or not codec._is_text_encoding:  # rot13, base64, zlib: codecs, but not of text
        raise argparse.ArgumentTypeError(f"unknown encoding '{text}' (e.g. utf-8, cp1252, latin-1, utf-16)") from None
    return codec.name


def delimiter_char(text: str) -> str:
    """--delimiter: one character; `tab` or `\\t` for a tab."""
    char = "\t" if text in ("tab", "\\t") else text
    if len(char) != 1 or char in '"\r\n':
        raise argparse.ArgumentTypeError(f"'{text}' is not one character (e.g. ',', ';', 'tab')")
    return char


def read_table(path: str, *, encoding: str | None = None, delimiter: str | None = None) -> Table:
    """Read and split the CSV; raises ScenarioError, located, when it cannot be read as a table."""

    def fail(message: str, line: int | None = None) -> ScenarioError:
        return ScenarioError([Problem(message=message, location=Location(file=path, line=line))])

    try:
        if not os.path.isfile(path):
            raise fail("not a regular file: give the CSV file itself")
        size = os.stat(path).st_size
        if size > MAX_BYTES:
            raise fail(f"the file is {size / 1024 / 1024:.1f} MB; an import reads at most {MAX_BYTES // 1024 // 1024} MB")
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror or exc}") from None
    text, encoding = _decode(data, encoding, fail)
    text = text.removeprefix("\ufeff")  # a byte-order mark when --encoding named a codec that keeps it
    header_line = 1
    sep = _SEP_LINE.match(text)
    if sep:
        delimiter = delimiter or sep[1]
        text, header_line = text[sep.end() :], 2
    delimiter = delimiter or _sniff(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[Record] = []
    start = header_line
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):  # blank lines, and Excel's trailing ';;;;' rows, are not rows
                rows.append(Record(start, tuple(cells)))
            start = header_line + reader.line_num
    except csv.Error as exc:
        raise fail(_csv_problem(str(exc), delimiter), start) from None
    if not rows:
        raise fail("the file is empty: a CSV export starts with a header row")
    header, records = rows[0], rows[1:]
    if not records:
        raise fail("the CSV has a header but no rows: nothing to import", header.line)
    if len(records) > MAX_ROWS:
        raise fail(f"{len(records)} rows; an import takes at most {MAX_ROWS}")
    width = len(header.cells)
    wide = [r for r in records if len(r.cells) > width and any(cell.strip() for cell in r.cells[width:])]
    problems = [
        Problem(
            message=f"the row has {len(r.cells)} cells and the header {width} (read with delimiter {_shown(delimiter)}): "
            "is a quote out of place, or is the delimiter another? (--delimiter)",
            location=Location(file=path, line=r.line, column=width + 1),
        )
        for r in wide[:WIDE_ROWS_SHOWN]
    ]
    if len(wide) > WIDE_ROWS_SHOWN:  # a wrong delimiter makes every row wide: the first few say it
        problems.append(Problem(message=f"and {len(wide) - WIDE_ROWS_SHOWN} more rows with more cells than the header", location=Location(file=path)))
    for record in records:  # where the cell is, rather than in the overlay the import would write
        for n, cell in enumerate(record.cells[:width]):
            if found := CONTROL.search(cell):
                problems.append(
                    Problem(
                        message=f"the cell holds the control character U+{ord(found.group()):04X}, which is not text; remove it",
                        location=Location(file=path, line=record.line, column=n + 1, path=header.cells[n].strip()),
                    )
                )
    if problems:
        raise ScenarioError(problems)
    # A row may stop early (a spreadsheet drops trailing empty cells): the cells it lacks are blank.
    padded = tuple(Record(r.line, tuple(c.replace("\r\n", "\n") for c in r.cells[:width]) + ("",) * (width - len(r.cells))) for r in records)
    names = tuple(name.strip() for name in header.cells)
    return Table(file=path, header=names, header_line=header.line, records=padded, encoding=encoding, delimiter=delimiter)


def _decode(data: bytes, encoding: str | None, fail: Callable[[str, int | None], ScenarioError]) -> tuple[str, str]:
    def line_of(position: int) -> int:
        return data[:position].count(b"\n") + 1

    if encoding:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise fail(f"byte 0x{data[exc.start]:02x} is not {encoding} (--encoding)", line_of(exc.start)) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise fail("starts as UTF-16 but does not decode as UTF-16: give --encoding", None) from None
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as utf8:
        # Not UTF-8: most likely Excel's or an older Jira's Windows-1252 (Western European), which decodes
        # almost any byte, so it is the one fallback; the summary says it was used.
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            raise fail(f"byte 0x{data[utf8.start]:02x} is neither UTF-8 nor Windows-1252: give the file's --encoding", line_of(utf8.start)) from None


def _sniff(text: str) -> str:
    """The delimiter that splits the header line into the most columns (a comma when none splits it)."""
    first = re.split(r"\r\n?|\n", text, maxsplit=1)[0]

    def width(delimiter: str) -> int:
        try:
            return len(next(csv.reader([first], delimiter=delimiter), []))
        except csv.Error:  # a header the csv module cannot split is found out, and located, when the file is read
            return 0

    return max(DELIMITERS, key=width)


def _shown(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else f"'{delimiter}'"


def _csv_problem(message: str, delimiter: str) -> str:
    """The csv module's complaint in the user's words (the row it stops in is located by the caller)."""
    if message.startswith("unexpected end of data"):
        return "a quoted cell in the row that starts here is never closed"
    if message.startswith("field larger than field limit"):
        return "a cell over 128 KB in the row that starts here: most likely a quote that is never closed"
    if "expected after" in message:
        return f'a quote ends a cell but the cell goes on: inside a quoted cell, write a quote twice (""), and end the cell with {_shown(delimiter)}'
    return f"the row that starts here cannot be read as CSV ({message})"


# --- numbers -------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,4})?")


def number(text: str) -> Decimal | None:
    """A cell's number, with a decimal comma (`3,5`) or thousands separators (`1.234,5`, `1,234.5`); None if it is not one."""
    t = text.strip().replace("\u00a0", "").replace(" ", "")
    if "," in t and "." in t:
        # The last separator is the decimal mark, the other groups thousands.
        t = t.replace(".", "").replace(",", ".") if t.rfind(",") > t.rfind(".") else t.replace(",", "")
    elif t.count(",") == 1:
        t = t.replace(",", ".")
    if not _NUMBER.fullmatch(t):
        return None
    try:
        return Decimal(t)
    except InvalidOperation:
        return None


# --- dates ---------------------------------------------------------------------------------------------

_MONTHS = {name: n for n in range(1, 13) for name in (dt.date(2000, n, 1).strftime("%b").casefold(), dt.date(2000, n, 1).strftime("%B").casefold())}
_REST = r"(?:[ T,].*)?"  # a time of day after the date is read past
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})" + _REST)
_NUMERIC = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})" + _REST)
_DAY_NAMED = re.compile(r"(\d{1,2})[/ .-]([A-Za-z]{3,9})\.?[/ .-](\d{4}|\d{2})" + _REST)  # 15/Mar/27 (Jira), 15 March 2027
_NAMED_DAY = re.compile(r"([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})" + _REST)  # March 15, 2027


@dataclass(frozen=True)
class DateCell:
    """A date cell to read, and where it stands."""

    text: str
    location: Location


class Dates:
    """The dates of one column, read in one order: `03/04/2027` is never 3 April on one row and 4 March on the next.

    With a strftime `date_format`, every cell is read with it. Otherwise a numeric date's order comes from
    --dayfirst or --monthfirst, or from the column itself: a day above 12 in the first place makes the whole
    column day-first. A column that shows both orders, or none while a cell could be read both ways, is an
    error at the cell, asking for the order.
    """

    def __init__(self, cells: Iterable[DateCell], *, dayfirst: bool | None, date_format: str | None) -> None:
        self.date_format = date_format
        self.dayfirst = dayfirst
        self.problems: list[Problem] = []
        if date_format or dayfirst is not None:
            return
        numeric = [(cell, m) for cell in cells if (m := _NUMERIC.fullmatch(cell.text))]
        day_first = next((cell for cell, m in numeric if int(m[1]) > 12 >= int(m[2])), None)
        month_first = next((cell for cell, m in numeric if int(m[2]) > 12 >= int(m[1])), None)
        if day_first and month_first:
            later, earlier = sorted((day_first, month_first), key=lambda c: c.location.line or 0, reverse=True)
            self.problems.append(
                Problem(
                    message=f"'{later.text}' and '{earlier.text}' (line {earlier.location.line}) put the day in different places: "
                    "one column has one order; fix the cell, or set date_format in the mapping",
                    location=later.location,
                )
            )
        elif day_first or month_first:
            self.dayfirst = day_first is not None
        else:
            ambiguous = next((cell for cell, m in numeric if m[1] != m[2]), None)
            if ambiguous:
                m = _NUMERIC.fullmatch(ambiguous.text)
                assert m is not None
                self.problems.append(
                    Problem(
                        message=f"'{ambiguous.text}' could be day {int(m[1])} or day {int(m[2])} of the month, and no date in the column "
                        "tells which comes first: give --dayfirst or --monthfirst (or date_format in the mapping)",
                        location=ambiguous.location,
                    )
                )

    def read(self, text: str) -> dt.date | str:
        """The cell's date, or why it is not one."""
        if self.date_format:
            try:
                return dt.datetime.strptime(text, self.date_format).date()
            except ValueError:
                return f"'{text}' is not a date in the format {self.date_format}"
        fields: tuple[str, str, str] | None = None
        if m := _ISO.fullmatch(text):
            fields = (m[1], m[2], m[3])
        elif m := _NUMERIC.fullmatch(text):
            fields = (m[3], m[2], m[1]) if self.dayfirst else (m[3], m[1], m[2])
        elif (m := _DAY_NAMED.fullmatch(text)) and m[2].casefold() in _MONTHS:
            fields = (m[3], str(_MONTHS[m[2].casefold()]), m[1])
        elif (m := _NAMED_DAY.fullmatch(text)) and m[1].casefold() in _MONTHS:
            fields = (m[3], str(_MONTHS[m[1].casefold()]), m[2])
        if fields is None:
            return f"'{text}' is not a date; set date_format in the mapping"
        year, month, day = (int(f) for f in fields)
        try:
            return dt.date(year + 2000 if year < 100 else year, month, day)
        except ValueError:
            read_as = (" read day-first" if self.dayfirst else " read month-first") if _NUMERIC.fullmatch(text) else ""
            return f"'{text}' is not a date{read_as}"
