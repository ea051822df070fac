"""Every file the warehouse writes for people goes through here: reports, due lists, the archive.

The cells of those files come from exports (names, plates, remarks): untrusted text. The rules:

- Text is written as text. A workbook made by `safe_workbook` never turns a string into a formula or a link
  (`=HYPERLINK(...)`, `+cmd|...`, `-2+3`, `@SUM(...)` stay the strings they are; read back with openpyxl they are
  `str`). A CSV cell that starts with `=` `+` `-` `@` or a tab/CR gets a leading `'` (`csv_cell`), which is how
  spreadsheet programs are told "this is text"; numbers stay numbers.
- Codes from exports (store, staff, assignee) become file and sheet names only through `file_part` and
  `sheet_name`: no path separators, no `..`, no characters Excel refuses in a sheet name, bounded length.
- A file appears complete or not at all: written under a temporary name in the same folder, then renamed
  (`atomic_output`), so a crash or a full disk never leaves a 0-byte or half-written file looking current.
- Files are 0640 and folders 0750 (`FILE_MODE`, `DIR_MODE`): the group that runs the warehouse may read them,
  other OS users on the machine may not (due lists carry customers' phone numbers).

Usage for a new writer (e.g. a dispute workbook or another due list):

    from reports.safe_output import file_part, private_folder, safe_workbook, sheet_name, write_csv

    folder = private_folder(out_dir / "disputes")
    with safe_workbook(folder / f"争议_{file_part(store)}_{as_of}.xlsx") as book:
        sheet = book.add_worksheet(sheet_name(staff_code))
        sheet.write_row(0, 0, header)          # write / write_row never make formulas here
    write_csv(folder / f"争议_{file_part(store)}_{as_of}.csv", header, rows)
"""

from __future__ import annotations

import csv
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import xlsxwriter

FILE_MODE = 0o640
DIR_MODE = 0o750
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
FILE_FORBIDDEN = re.compile(r"[^\w\-\u4e00-\u9fff]")  # letters, digits, _, -, and CJK; nothing else
SHEET_MAX = 31


def private_folder(path: Path) -> Path:
    """`path` (and missing parents) as a folder of mode 0750; returns it."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    path.chmod(DIR_MODE)
    return path


def file_part(code: object, max_length: int = 40) -> str:
    """A code from an export made safe as part of a file name: `S01` stays `S01`, `../../x` becomes `x`."""
    text = FILE_FORBIDDEN.sub("_", str(code)).strip("._") or "_"
    return text[:max_length]


def sheet_name(text: object, taken: set[str] | None = None) -> str:
    """A worksheet name Excel accepts (no []:*?/\\, at most 31 characters, not empty, unique within `taken`)."""
    name = SHEET_FORBIDDEN.sub("_", str(text)).strip("'") or "_"
    name = name[:SHEET_MAX]
    if taken is not None:
        base, number = name, 2
        while name.lower() in {t.lower() for t in taken}:
            suffix = f"~{number}"
            name, number = base[: SHEET_MAX - len(suffix)] + suffix, number + 1
        taken.add(name)
    return name


def csv_cell(value: object) -> object:
    """A CSV cell that no spreadsheet program evaluates: text starting like a formula gets a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it becomes `path` (mode 0640), on failure it is removed."""
    private_folder(path.parent)
    draft = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        yield draft
        os.chmod(draft, FILE_MODE)
        with open(draft, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)


@contextmanager
def safe_workbook(path: Path, options: dict | None = None) -> Iterator[xlsxwriter.Workbook]:
    """An xlsxwriter workbook that writes strings as strings (never formulas or links), written atomically."""
    settings = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with atomic_output(path) as draft:
        book = xlsxwriter.Workbook(str(draft), settings | (options or {}))
        try:
            yield book
        finally:
            book.close()


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]], encoding: str = "utf-8-sig") -> None:
    """A CSV (UTF-8 with BOM by default, so Excel opens it as UTF-8) with every cell neutralised, atomically."""
    with atomic_output(path) as draft, draft.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow([csv_cell(cell) for cell in header])
        writer.writerows([csv_cell(cell) for cell in row] for row in rows)


def write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """A text file (HTML, JSON) written atomically with mode 0640."""
    with atomic_output(path) as draft:
        draft.write_text(text, encoding=encoding)


def copy_file(source: Path, target: Path) -> None:
    """`source` copied byte for byte to `target` atomically (the archive), mode 0640."""
    with atomic_output(target) as draft:
        shutil.copyfile(source, draft)
