"""Where the output goes: every command checks each output path before any work (a file where a
folder is wanted, a read-only place, a device or a link to one), and a write that fails on the way
(a full disk) ends in one line naming the path, leaving no half-written file or checkpoint.

Read-only places and full disks are made two ways: injected (an OSError with EROFS / ENOSPC, or a
statvfs saying read-only), which runs everywhere, and a real small tmpfs where this user may mount
one (root in a container that allows it; skipped elsewhere)."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.errors import CheckpointError, DataError
from ganforge.io import atomic
from ganforge.io.atomic import atomic_write_text, check_writable, special_kind
from ganforge.io.checkpoint import save_checkpoint
from ganforge.io.pictures import save_grid
from tests.cli.test_cli import TINY, run_cli
from tests.conftest import tiny_config
from tests.reliability.conftest import one_line_error

NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"


@pytest.fixture
def tmpfs(tmp_path):
    """mount(name, size, read_only): a real tmpfs of `size` bytes below tmp_path; skipped where
    this user may not mount one. Unmounted afterwards."""
    mounted = []

    def mount(name: str, size: int = 1 << 20, read_only: bool = False) -> Path:
        target = tmp_path / name
        target.mkdir()
        options = f"size={size}" + (",ro" if read_only else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()})")
        mounted.append(target)
        return target

    yield mount
    for target in mounted:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def read_only_statvfs(monkeypatch, *folders: Path) -> None:
    """statvfs reports `folders` as on a read-only mount (as `mount -o ro` would), for every user."""
    real = os.statvfs
    chosen = {Path(f) for f in folders}

    class Result:
        def __init__(self, path):
            self.f_flag = real(path).f_flag | (os.ST_RDONLY if Path(path) in chosen else 0)

    monkeypatch.setattr(os, "statvfs", Result)


def no_space_writer(monkeypatch, owner, name: str, keep_bytes: int = 10) -> list[Path]:
    """Replace owner.name (a writer taking the path first, or a Pillow save method) by one that
    writes `keep_bytes` and then fails as a full disk does; returns the paths it was given."""
    given: list[Path] = []

    def full(*args, **kwargs):
        target = next(a for a in args if isinstance(a, (str, os.PathLike)) or hasattr(a, "write"))
        if hasattr(target, "write"):  # an open file
            given.append(Path(target.name))
            target.write(b"\0" * keep_bytes)
        else:
            given.append(Path(target))
            with open(target, "wb") as fh:
                fh.write(b"\0" * keep_bytes)
        raise OSError(errno.ENOSPC, NO_SPACE)

    monkeypatch.setattr(owner, name, full)
    return given


@pytest.fixture
def fake_devices(tmp_path):
    """A pipe, a character device like /dev/null (made with mknod where allowed), and symbolic
    links to each, none of which ganforge may replace by a regular file."""
    made = {}
    os.mkfifo(tmp_path / "pipe")
    made["pipe"] = tmp_path / "pipe"
    try:
        os.mknod(tmp_path / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        made["device"] = tmp_path / "null"
    except (PermissionError, OSError):
        pass  # not root: the pipe and the real /dev/null still stand for devices
    for name, target in list(made.items()):
        (tmp_path / f"link-to-{name}").symlink_to(target)
        made[f"link-to-{name}"] = tmp_path / f"link-to-{name}"
    return made


def unchanged(path: Path) -> bool:
    mode = os.lstat(path).st_mode
    return not stat.S_ISREG(mode)


# ------------------------------------------------------------------ train --out, --resume, run folders
def test_train_out_naming_a_file_is_refused_before_anything(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    code, _, err = run_cli(capsys, "train", *TINY, "--out", a_file)
    one_line_error(code, err, f"--out {a_file}: is an existing file, not a folder")
    code, _, err = run_cli(capsys, "train", *TINY, "--out", a_file / "runs")
    one_line_error(code, err, f"--out {a_file / 'runs'}: {a_file} is a file, not a folder")
    assert a_file.read_text() == "keep me"


def test_train_into_a_read_only_place_is_refused_before_anything(tmp_path, capsys, monkeypatch):
    place = tmp_path / "mounted"
    place.mkdir()
    read_only_statvfs(monkeypatch, place)
    code, _, err = run_cli(capsys, "train", *TINY, "--out", place / "runs")
    one_line_error(code, err, f"--out {place / 'runs'}: the folder {place} is on a read-only file system")
    assert list(place.iterdir()) == []


def test_the_run_lock_turns_an_unwritable_folder_into_one_line(tmp_path, monkeypatch):
    """The lock is where the run folder is made: a failure there (a mount turned read-only after
    the check) is a one-line error, not a traceback."""
    from ganforge.errors import RunFolderError
    from ganforge.io.run_folder import run_lock

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    with pytest.raises(RunFolderError, match=f"{tmp_path / 'run' / '.lock'}: could not be written "
                                             f"\\({os.strerror(errno.EROFS)}\\)"):
        with run_lock(tmp_path / "run"):
            pass


def test_resume_and_train_encoder_in_a_read_only_run_are_refused(run, capsys, monkeypatch):
    read_only_statvfs(monkeypatch, run)
    code, _, err = run_cli(capsys, "train", "--resume", run, "--steps", "3", "--no-progress")
    one_line_error(code, err, f"--resume {run}: the folder {run} is on a read-only file system")
    code, _, err = run_cli(capsys, "train-encoder", run, "--steps", "1")
    one_line_error(code, err, f"RUN {run / 'encoder.safetensors'}: the folder {run} is on a read-only file system")
    code, _, err = run_cli(capsys, "train-inpainter", run, "--steps", "1")
    one_line_error(code, err, f"RUN {run / 'inpainter.safetensors'}: the folder {run} is on a read-only file system")
    assert not (run / "encoder.safetensors").exists() and not (run / "inpainter.safetensors").exists()


def test_a_real_read_only_mount_is_refused(run, tmpfs, capsys):
    place = tmpfs("ro", read_only=True)
    for args in (["train", *TINY, "--out", place], ["sample", run, "-n", "2", "-o", place / "grid.png"],
                 ["sample", run, "-n", "2", "-o", place / "pngs"]):
        code, _, err = run_cli(capsys, *args)
        one_line_error(code, err, f"the folder {place} is on a read-only file system")
    assert list(place.iterdir()) == []


# ------------------------------------------------------------------ full disks
def test_a_checkpoint_that_hits_a_full_disk_leaves_nothing_half_written(tmp_path, monkeypatch):
    from ganforge.io import checkpoint as ckpt
    from ganforge.models import build_generator

    config = tiny_config(tmp_path)
    generator = build_generator(config.model, config.data)
    folder = tmp_path / "checkpoints"
    save_checkpoint(folder, 1, config, {"generator": generator})
    given = no_space_writer(monkeypatch, ckpt, "save_file")
    with pytest.raises(CheckpointError) as caught:
        save_checkpoint(folder, 2, config, {"generator": generator})
    message = str(caught.value)
    assert message == (f"{folder / 'step_00000002'}: could not be written ({NO_SPACE}); "
                       "the previous checkpoints are intact")
    assert given and not given[0].exists()  # the half-written file went with its temporary folder
    assert sorted(p.name for p in folder.iterdir()) == ["step_00000001"]


def test_a_trainer_state_that_hits_a_full_disk_says_so(tmp_path, monkeypatch):
    """torch's own file writer reports a full disk as 'unexpected pos' (a RuntimeError); the state
    is serialised in memory and written by Python, so the OS's reason reaches the user."""
    from ganforge.models import build_generator

    config = tiny_config(tmp_path)
    real = Path.write_bytes

    def full(self, data):
        if self.name == "trainer_state.pt":
            real(self, bytes(data)[:7])
            raise OSError(errno.ENOSPC, NO_SPACE)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(CheckpointError, match=f"step_00000003: could not be written \\({NO_SPACE}\\)"):
        save_checkpoint(tmp_path / "c", 3, config, {"generator": build_generator(config.model, config.data)},
                        trainer_state={"step": 3})
    assert list((tmp_path / "c").iterdir()) == []


@pytest.mark.parametrize("out, extra", [("grid.png", []), ("pngs", []), ("x.npy", [])],
                         ids=["grid", "folder", "npy"])
def test_sample_onto_a_full_disk_is_one_line_and_leaves_no_file(run, tmp_path, capsys, monkeypatch, out, extra):
    if out.endswith(".npy"):
        given = no_space_writer(monkeypatch, np, "save")
    else:
        given = no_space_writer(monkeypatch, Image.Image, "save")
    target = tmp_path / "out" / out
    code, _, err = run_cli(capsys, "sample", run, "-n", "3", "-o", target, *extra)
    written = target / "sample_00000.png" if out == "pngs" else target
    one_line_error(code, err, f"{written}: could not be written ({NO_SPACE})")
    assert given, "the writer was never reached"
    leftovers = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert leftovers == []


def test_a_real_full_disk(run, tmpfs, capsys):
    full = tmpfs("full", size=48 * 1024)
    code, _, err = run_cli(capsys, "train", *TINY, "--out", full, "--name", "r")
    one_line_error(code, err, "could not be written (No space left on device)")
    assert not [p for p in full.rglob(".tmp*")]
    code, _, err = run_cli(capsys, "sample", run, "-n", "256", "-o", full / "grid.png")
    one_line_error(code, err, f"{full / 'grid.png'}: could not be written (No space left on device)")
    assert not (full / "grid.png").exists() and not list(full.glob(".grid.png*"))


# ------------------------------------------------------------------ devices, pipes and links to them
def test_devices_and_links_to_them_are_refused_not_replaced(run, fake_devices, capsys):
    for name, path in fake_devices.items():
        for fmt in ("grid", "npy", "files"):
            code, _, err = run_cli(capsys, "sample", run, "-n", "2", "--format", fmt, "-o", path)
            kind = "a pipe (FIFO)" if "pipe" in name else "a character device"
            one_line_error(code, err, f"--out {path}: is {kind}", "ganforge writes only regular files and folders")
            assert unchanged(path) and (os.path.islink(path) == name.startswith("link"))
            assert special_kind(path) == kind


def test_dev_null_itself_is_never_replaced(run, capsys, monkeypatch):
    """With a guard: should the check ever regress, renaming or deleting onto /dev/null fails the
    test instead of replacing the system's /dev/null (tests may run as root)."""
    def guarded(real):
        def call(*paths, **kwargs):
            if any(os.path.realpath(p) == "/dev/null" for p in paths if isinstance(p, (str, os.PathLike))):
                raise AssertionError(f"{real.__name__} reached /dev/null")
            return real(*paths, **kwargs)
        return call

    for name in ("replace", "rename", "unlink", "remove"):
        monkeypatch.setattr(os, name, guarded(getattr(os, name)))
    before = os.stat("/dev/null")
    assert stat.S_ISCHR(before.st_mode)
    code, _, err = run_cli(capsys, "sample", run, "-n", "2", "--format", "grid", "-o", "/dev/null")
    one_line_error(code, err, "--out /dev/null: is a character device")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino


def test_the_writer_itself_refuses_a_device(fake_devices):
    """Library callers that skip check_writable are guarded too: atomic_write never renames a
    regular file onto a device or a pipe."""
    for path in fake_devices.values():
        with pytest.raises(DataError, match="ganforge does not replace it"):
            save_grid(torch.zeros(1, 3, 4, 4), path)
        with pytest.raises(DataError, match="ganforge does not replace it"):
            atomic_write_text(path, "x")
        assert unchanged(path)


# ------------------------------------------------------------------ a format the name contradicts
@pytest.mark.parametrize("fmt, out", [("npy", "x.png"), ("grid", "x.npy"), ("files", "x.png")])
def test_a_format_the_out_name_contradicts_is_one_line(run, tmp_path, capsys, fmt, out):
    code, _, err = run_cli(capsys, "sample", run, "-n", "2", "--format", fmt, "-o", tmp_path / out)
    one_line_error(code, err, f"{tmp_path / out} names a {Path(out).suffix} file, but --format {fmt} writes")
    assert list(tmp_path.iterdir()) == []


def test_save_npy_writes_exactly_the_name_given(tmp_path):
    """np.save adds '.npy' to a name without it; the writer keeps the name it was given."""
    from ganforge.io.pictures import save_npy

    images = torch.linspace(-1, 1, 2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    path = save_npy(images, tmp_path / "samples.array")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["samples.array"]
    assert np.array_equal(np.load(path), images.numpy())


def test_check_writable_is_one_shared_gate(tmp_path, fake_devices, monkeypatch):
    """The one check the commands call: devices refused, read-only mounts named as such."""
    for path in fake_devices.values():
        with pytest.raises(DataError, match="not a regular file"):
            check_writable(path, what="--out")
        with pytest.raises(DataError, match="not a regular folder"):
            check_writable(path, folder=True, what="--out")
    read_only_statvfs(monkeypatch, tmp_path)
    with pytest.raises(DataError, match=f"--out {tmp_path}/x.png: the folder {tmp_path} is on a read-only"):
        check_writable(tmp_path / "x.png", what="--out")
    assert atomic.special_kind(tmp_path / "missing") is None


def test_download_mnist_checks_its_folder_before_the_network(tmp_path, capsys, monkeypatch):
    import urllib.request

    def no_network(*args, **kwargs):
        raise AssertionError("the network was reached before the check")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    code, _, err = run_cli(capsys, "download-mnist", a_file / "mnist", "--mirror", "http://127.0.0.1:9/")
    one_line_error(code, err, f"DEST {a_file / 'mnist'}: {a_file} is a file, not a folder")
