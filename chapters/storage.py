"""Our own files on disk: written whole or not at all, read back whole or named as damaged.

Writing: everything goes to a temporary name in the same folder and is renamed, so a crash, Ctrl-C or
`kill -9` never leaves half a file; temporary files of a dead run are removed when its folder is next
opened. When the machine refuses a write (a full disk, a read-only or forbidden folder), the temporary
file is released at once and the write ends in one `MachineFault` naming the file and the reason: the
machine's fault, never blamed on the data.

Reading: on `--resume` the progress files a run left (results.json, history, backups, a section's own
state) are read inside `reading(path)`: whatever is wrong with one (cut short, garbage, 0 bytes) ends in
one `DamagedFile` naming it, instead of a traceback from json, csv or h5py.
"""

import contextlib
import errno
import json
import os
import signal
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np

TEMPORARY_MARK = ".tmp-"
# The machine's faults, not the data's: a full disk or quota, a folder that cannot be written, a failing disk.
MACHINE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


class MachineFault(Exception):
    """The machine refused to write (or read) `path`: `no_space`, or a read-only, forbidden or failing disk."""

    def __init__(self, path, error, action="write"):
        self.path, self.error = Path(path), error
        self.no_space = error.errno in (errno.ENOSPC, errno.EDQUOT)
        self.reason = os.strerror(error.errno) if error.errno else str(error)
        super().__init__(f"no space left on {mount_point(self.path)} while writing {self.path}" if self.no_space
                         else f"cannot {action} {self.path} ({self.reason})")

    @property
    def remedy(self):
        """What the user does before running the same command with --resume."""
        if self.no_space:
            return "free space"
        return "check the disk" if self.error.errno == errno.EIO else "make it writable"


class DamagedFile(Exception):
    """One of our progress files cannot be read back: one line naming it, exit code 1."""

    def __init__(self, path, reason):
        self.path, self.reason = Path(path), reason
        super().__init__(f"--resume: {path} is damaged ({reason}); restore it, or start a new run without --resume")


def is_machine_error(error):
    return isinstance(error, OSError) and error.errno in MACHINE_ERRORS


def mount_point(path):
    """The mount point of the file system `path` is on (the 'device' a user frees space on)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def temporary_path(path):
    """A hidden name beside `path` that keeps its suffixes (Keras checks `.keras`, `.weights.h5`)."""
    path = Path(path)
    stem, dot, suffixes = path.name.partition(".")
    return path.with_name(f".{stem}{TEMPORARY_MARK}{os.getpid()}{dot}{suffixes}")


@contextlib.contextmanager
def signals_held():
    """Ctrl-C and SIGTERM wait for the end of the block, then act as usual.

    A KeyboardInterrupt raised in the middle of h5py writing a checkpoint can leave HDF5's memory corrupt
    (the process then aborts with "free(): invalid next size"); a write is short, so the signal waits for it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, lambda signum, frame: received.append(signum)) for number in held}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received:
            signal.raise_signal(received[0])


def write_atomically(path, write):
    """Call `write(temporary_path)`, then rename the result onto `path`: all or nothing, never cut by a signal.

    A full disk or an unwritable folder ends in MachineFault (naming `path`), other errors as they are.
    """
    path = Path(path)
    temporary = temporary_path(path)
    with signals_held():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write(temporary)
            with open(temporary, "rb") as f:
                os.fsync(f.fileno())
            os.replace(temporary, path)
        except OSError as error:
            if is_machine_error(error):
                raise MachineFault(path, error) from None
            raise
        finally:
            release_temporary(temporary)
    return path


def release_temporary(temporary):
    """Remove a temporary file that was not renamed, and free its space even while a library still holds it open.

    h5py keeps a file whose write failed open; at exit HDF5 flushes it again and, on a disk still full,
    crashes the interpreter (a segmentation fault). Emptying the file frees its blocks, and closing h5py's
    handles to it leaves nothing to flush.
    """
    if not os.path.lexists(temporary):
        return
    with contextlib.suppress(OSError):
        os.truncate(temporary, 0)
    h5py = sys.modules.get("h5py")
    if h5py is not None:
        for handle in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE):
            if os.path.abspath(os.fsdecode(handle.name)) == os.path.abspath(temporary):
                with contextlib.suppress(Exception):  # HDF5 may report the failed flush once more
                    h5py.File(handle).close()
    with contextlib.suppress(FileNotFoundError):
        Path(temporary).unlink()


def atomic_write(path, data):
    """Write bytes or text to `path` through a temporary file and a rename."""
    def write(temporary):
        with open(temporary, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
    return write_atomically(path, write)


def save_json(path, obj):
    return atomic_write(path, json.dumps(obj, indent=2, default=_to_builtin) + "\n")


def _to_builtin(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def save_npz(path, **arrays):
    """np.savez, written whole or not at all. A bfloat16 array (what a model computes under --mixed-precision
    bfloat16) is saved as float32: .npz has no bfloat16, np.load would read it back as 2-byte voids."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.asarray(array, "float32") if np.asarray(array).dtype.name == "bfloat16" else array
                        for name, array in arrays.items()})
    return atomic_write(path, buffer.getvalue())


def remove_temporary_files(folder):
    """Temporary files left by a process that died while writing (the folder is ours: we hold its lock)."""
    for path in Path(folder).rglob(f".*{TEMPORARY_MARK}*"):
        if path.is_file():
            path.unlink()


# ---------------------------------------------------------------------------
# Reading back
# ---------------------------------------------------------------------------

@contextlib.contextmanager
def reading(path):
    """Read one of our progress files inside this block: whatever is wrong with it ends in DamagedFile.

    The block raises what json, csv, numpy or h5py raise (or ValueError with a reason of its own);
    a file the machine cannot read (EIO, EACCES) is the machine's fault: MachineFault.
    """
    path = Path(path)
    try:
        yield path
    except OSError as error:
        if is_machine_error(error):
            raise MachineFault(path, error, action="read") from None
        raise DamagedFile(path, damage_reason(path, error)) from None
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, EOFError, zipfile.BadZipFile) as error:
        raise DamagedFile(path, damage_reason(path, error)) from None


def damage_reason(path, error):
    """A few words on what is wrong with `path`, from the error that reading it raised."""
    if not os.path.lexists(path):
        return "it is missing"
    if Path(path).is_file() and Path(path).stat().st_size == 0:
        return "it is empty: 0 bytes"
    if isinstance(error, json.JSONDecodeError):
        return f"not valid JSON: {error}"
    if isinstance(error, UnicodeDecodeError):
        return "not text"
    if isinstance(error, KeyError):
        return f"it has no {error} in it"
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def read_json(path, *keys, kind=dict):
    """A JSON progress file of ours: a `kind` (dict or list) with `keys`; DamagedFile otherwise."""
    with reading(path):
        value = json.loads(Path(path).read_text())
        if not isinstance(value, kind):
            raise ValueError(f"not a JSON {'object' if kind is dict else 'list'}")
        for key in keys:
            value[key]  # noqa: B018 (a KeyError names the missing key)
        return value
