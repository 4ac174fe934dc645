"""minigan.files: atomic writes through locked temporaries, their clean-up, and one writer per folder."""
import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest

import minigan
from minigan import files
from minigan.files import FolderInUse, FolderLock, atomic_write


def test_an_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with atomic_write(path, "w") as f:
        f.write("new")
        assert path.read_text() == "old" and len(files.temporaries(path)) == 1
    assert path.read_text() == "new" and os.listdir(tmp_path) == ["a.txt"]


def test_a_failed_atomic_write_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_write(path, "w") as f:
        f.write("half")
        raise KeyboardInterrupt
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]


def test_a_temporary_removed_by_a_cleaner_before_its_writer_locked_it_is_replaced(tmp_path, monkeypatch):
    """The window between creating a temporary and locking it: a cleaner that finds it unlocked removes it, and the
    writer, seeing its file gone, starts over with another."""
    path, flock, raced = tmp_path / "a.txt", files.fcntl.flock, []

    def cleaner_first(fd, operation):
        if not raced:
            raced.extend(files.temporaries(path))
            assert files.remove_stale_temporaries(path) == 1
        return flock(fd, operation)
    monkeypatch.setattr(files.fcntl, "flock", cleaner_first)
    with atomic_write(path, "w") as f:
        f.write("new")
    assert path.read_text() == "new" and len(raced) == 1 and not os.path.exists(raced[0])
    assert os.listdir(tmp_path) == ["a.txt"]


def test_a_folder_has_one_lock_holder(tmp_path):
    lock = FolderLock(tmp_path)
    with pytest.raises(FolderInUse, match=re.escape(str(tmp_path)) + f" is in use by process {os.getpid()} "):
        FolderLock(tmp_path)
    lock.release()
    assert os.listdir(tmp_path) == []  # released: the lock file goes too
    again = FolderLock(tmp_path)
    with pytest.raises(FolderInUse):
        lock.acquire()
    again.release()
    lock.acquire().release()


ROOT = os.path.dirname(os.path.dirname(minigan.__file__))
HOLD = textwrap.dedent("""
    import sys, time
    from minigan.files import FolderLock
    lock = FolderLock(sys.argv[1])
    print("locked", flush=True)
    time.sleep(60)
""")


def test_another_process_is_named_and_its_death_frees_the_folder(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": ROOT})
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(FolderInUse, match=f"in use by process {holder.pid} "):
            FolderLock(tmp_path)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    assert os.listdir(tmp_path) == [files.LOCK_NAME]  # left by the killed holder, but held by no one
    FolderLock(tmp_path).release()
