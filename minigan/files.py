"""Files that a crash can't leave half-written or in other hands: atomic writes, and one writer per folder.

``atomic_write(path)`` gives a file to write ``path`` through. It is a temporary beside ``path``,
``.<name>.<8 hex digits>.tmp``, locked (flock) while its writer lives, fsynced, then renamed over
``path``: a reader sees the old file or the new one, never a mix. A writer killed mid-write
(``kill -9``, power loss) can't remove its temporary, but its lock dies with it, so the next
``atomic_write`` of the same path removes every unlocked temporary of that path first.

``FolderLock(folder)`` makes a process the one writer of ``folder`` (a run folder) through the
flock of ``folder/.lock``, which holds the holder's PID and command; another process gets
``FolderInUse`` naming the folder and that process. The OS drops a lock when its process dies,
so a killed run's folder is free again at once. POSIX only (fcntl).
"""
import contextlib
import fcntl
import os
import re
import secrets
import sys
import time

LOCK_NAME = ".lock"


class FolderInUse(RuntimeError):
    """Another living process holds the folder's lock."""


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """``with atomic_write(path) as f:`` write ``f``; at the end of the block ``path`` is replaced by what was
    written, or, if the block raised, left as it was and the temporary removed."""
    path = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot write {path}: it is a directory")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    remove_stale_temporaries(path)
    fd, temporary = _locked_temporary(folder, name)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            os.replace(temporary, path)  # while the lock is held: a cleaner never sees a finished temporary
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    fsync_folder(folder)


def _locked_temporary(folder, name):
    """(fd, path) of a new temporary for ``name``, created and locked; retried if a cleaner removed it between the
    two (it had found it unlocked)."""
    while True:
        temporary = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _names(temporary, fd):
            return fd, temporary
        os.close(fd)


def _names(path, fd):
    """Whether ``path`` is still the file open as ``fd`` (not removed, nor replaced by another)."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(fd))
    except FileNotFoundError:
        return False


def temporaries(path):
    """The temporaries of ``path`` in its folder, live or left by dead writers."""
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    pattern = re.compile(re.escape(f".{name}.") + r"[0-9a-f]{8}\.tmp")
    with contextlib.suppress(FileNotFoundError):
        return [os.path.join(folder, f) for f in os.listdir(folder) if pattern.fullmatch(f)]
    return []


def remove_stale_temporaries(path):
    """Remove the temporaries of ``path`` that no living writer holds; the number removed."""
    removed = 0
    for temporary in temporaries(path):
        try:
            fd = os.open(temporary, os.O_RDONLY)
        except FileNotFoundError:  # its writer finished (renamed it) or another cleaner was quicker
            continue
        try:
            if _try_lock(fd) and _names(temporary, fd):
                os.remove(temporary)
                removed += 1
        finally:
            os.close(fd)
    return removed


def _try_lock(fd):
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def fsync_folder(folder):
    """Make a rename in ``folder`` durable too."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FolderLock:
    """``FolderLock(folder)`` holds ``folder``'s lock until ``release()``, or until this object or its process goes;
    FolderInUse if another holder (another process, or another FolderLock here) has it. ``acquire()`` after a
    release takes it back."""

    def __init__(self, folder):
        self.path, self.file = os.path.join(os.fspath(folder), LOCK_NAME), None
        self.acquire()

    def acquire(self):
        while self.file is None:
            file = open(self.path, "a+b")  # noqa: SIM115 (held past this call; unlocked when closed or collected)
            if not _try_lock(file.fileno()):
                file.seek(0)
                holder = file.read(1000).decode(errors="replace").strip() or "another process"
                file.close()
                raise FolderInUse(f"{os.path.dirname(self.path) or '.'} is in use by {holder}; one process at a "
                                  "time writes a run folder (wait for it to end, or stop it)")
            if _names(self.path, file.fileno()):  # else its last holder removed it before we locked it: again
                file.truncate(0)
                file.write(f"process {os.getpid()} ({' '.join(sys.argv)[:200]}), since {time.strftime('%c')}"
                           .encode())
                file.flush()
                self.file = file
            else:
                file.close()
        return self

    def release(self):
        """Remove the lock file and let go (removed while held, so that no one locks a file on its way out)."""
        if self.file is not None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
            self.file.close()
            self.file = None
