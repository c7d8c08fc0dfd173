"""Environment fingerprint: cheap (no torch import), JSON-ready, GPU facts via NVML when present."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

import pytest

from pixelgen.records import envinfo
from pixelgen.records.envinfo import environment_fingerprint, gpu_info

REPO_ROOT = Path(__file__).resolve().parents[3]


def _run_python(code: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_fingerprint_does_not_import_torch() -> None:
    # A fresh interpreter: this test process may already have torch loaded by other tests.
    out = _run_python(
        "import sys, json\n"
        "from pixelgen.records.envinfo import environment_fingerprint\n"
        "fingerprint = environment_fingerprint(seeds=[7])\n"
        "print(json.dumps({'torch_loaded': 'torch' in sys.modules, 'fingerprint': fingerprint}))\n"
    )
    result = json.loads(out)
    assert result["torch_loaded"] is False
    assert result["fingerprint"]["torch_runtime"] is None
    assert result["fingerprint"]["seeds"] == [7]


def test_fingerprint_reads_cuda_versions_from_an_already_imported_torch() -> None:
    # Real torch in a subprocess: the values must be torch's own (None on a CPU build).
    out = _run_python(
        "import json, torch\n"
        "from pixelgen.records.envinfo import environment_fingerprint\n"
        "print(json.dumps({'fingerprint': environment_fingerprint()['torch_runtime'],\n"
        "                  'expected': {'cuda': torch.version.cuda, 'cudnn': torch.backends.cudnn.version()}}))\n"
    )
    result = json.loads(out)
    assert result["fingerprint"] == result["expected"]


def test_fingerprint_shape_and_values() -> None:
    fingerprint = environment_fingerprint(seeds=(1, 2, 3))
    assert list(fingerprint) == [
        "python",
        "platform",
        "packages",
        "torch_runtime",
        "gpu",
        "gpu_unavailable_reason",
        "git",
        "seeds",
    ]
    assert json.loads(json.dumps(fingerprint)) == fingerprint
    assert fingerprint["python"]["version"] == platform.python_version()
    assert fingerprint["platform"]["machine"] == platform.machine()
    assert fingerprint["packages"]["numpy"] == metadata.version("numpy")
    assert fingerprint["packages"]["Pillow"] == metadata.version("Pillow")
    assert fingerprint["packages"]["torch"] == metadata.version("torch")
    assert fingerprint["packages"]["pixelgen"]  # installed metadata, or the checkout's __version__
    assert fingerprint["git"] is None  # no project_dir given
    assert fingerprint["seeds"] == [1, 2, 3]


def test_missing_package_is_null() -> None:
    assert envinfo.package_versions(("surely-not-an-installed-distribution-xyz",)) == {
        "surely-not-an-installed-distribution-xyz": None
    }


def test_non_integer_seed_is_rejected() -> None:
    with pytest.raises(ValueError, match="seed"):
        environment_fingerprint(seeds=[1, "2"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="seed"):
        environment_fingerprint(seeds=[True])


# --------------------------------------------------------------------------- GPU / NVML


def test_gpu_facts_or_a_reason_on_this_machine() -> None:
    # The real NVML path: on a machine without an NVIDIA driver (CI) it must
    # report why; on a GPU machine it must report devices. Never both, never neither.
    gpu, reason = gpu_info()
    if gpu is None:
        assert isinstance(reason, str) and reason
    else:
        assert reason is None
        assert gpu["devices"] and all(d["uuid"] for d in gpu["devices"])


def test_gpu_unavailable_when_pynvml_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    fingerprint = environment_fingerprint()
    assert fingerprint["gpu"] is None
    assert "nvidia-ml-py" in fingerprint["gpu_unavailable_reason"]


class _FakeNVMLError(Exception):
    pass


def _fake_pynvml(*, init_error: str | None = None) -> types.ModuleType:
    """A stand-in `pynvml` module that answers like NVML does on a one-GPU machine.

    FAKE, for unit-testing the parsing in envinfo._read_nvml only: values,
    units (mW, bytes, encoded CUDA version) and bytes-vs-str answers follow
    nvidia-ml-py's API. It says nothing about a real GPU.
    """
    module = types.ModuleType("pynvml")
    calls: list[str] = []
    module.calls = calls  # type: ignore[attr-defined]
    module.NVMLError = _FakeNVMLError  # type: ignore[attr-defined]
    module.NVML_CLOCK_GRAPHICS, module.NVML_CLOCK_SM, module.NVML_CLOCK_MEM = 0, 1, 2  # type: ignore[attr-defined]

    def init() -> None:
        calls.append("init")
        if init_error:
            raise _FakeNVMLError(init_error)

    def not_supported(handle: object) -> int:
        raise _FakeNVMLError("Not Supported")

    module.nvmlInit = init  # type: ignore[attr-defined]
    module.nvmlShutdown = lambda: calls.append("shutdown")  # type: ignore[attr-defined]
    module.nvmlSystemGetDriverVersion = lambda: b"550.54.15"  # type: ignore[attr-defined]  # old bindings: bytes
    module.nvmlSystemGetCudaDriverVersion = lambda: 12040  # type: ignore[attr-defined]
    module.nvmlDeviceGetCount = lambda: 1  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = lambda index: ("handle", index)  # type: ignore[attr-defined]
    module.nvmlDeviceGetName = lambda handle: "NVIDIA H100 80GB HBM3"  # type: ignore[attr-defined]
    module.nvmlDeviceGetUUID = lambda handle: "GPU-12345678-abcd-ef01-2345-6789abcdef01"  # type: ignore[attr-defined]
    module.nvmlDeviceGetPowerManagementLimit = not_supported  # type: ignore[attr-defined]
    module.nvmlDeviceGetMemoryInfo = lambda handle: types.SimpleNamespace(  # type: ignore[attr-defined]
        total=80 * 1024**3, free=1, used=2
    )
    module.nvmlDeviceGetMaxClockInfo = lambda handle, clock: {0: 1980, 1: 1980, 2: 2619}[clock]  # type: ignore[attr-defined]
    return module


def test_nvml_answers_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_pynvml()
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    gpu, reason = gpu_info()
    assert reason is None
    assert gpu == {
        "driver_version": "550.54.15",
        "cuda_driver_version": "12.4",
        "devices": [
            {
                "index": 0,
                "name": "NVIDIA H100 80GB HBM3",
                "uuid": "GPU-12345678-abcd-ef01-2345-6789abcdef01",
                "power_limit_w": None,  # the fake answers Not Supported
                "memory_total_mib": 80 * 1024,
                "max_clocks_mhz": {"graphics": 1980, "sm": 1980, "memory": 2619},
            }
        ],
    }
    assert fake.calls == ["init", "shutdown"]  # type: ignore[attr-defined]


def test_nvml_power_limit_is_converted_from_milliwatts(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_pynvml()
    fake.nvmlDeviceGetPowerManagementLimit = lambda handle: 700000  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    gpu, _ = gpu_info()
    assert gpu is not None and gpu["devices"][0]["power_limit_w"] == 700.0


def test_nvml_init_failure_gives_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_pynvml(init_error="Driver Not Loaded")
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    fingerprint = environment_fingerprint()
    assert fingerprint["gpu"] is None
    assert fingerprint["gpu_unavailable_reason"] == "NVML initialisation failed: Driver Not Loaded"
    assert fake.calls == ["init"]  # type: ignore[attr-defined]  # no shutdown after a failed init


# --------------------------------------------------------------------------- git

_GIT = shutil.which("git")


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.skipif(_GIT is None, reason="git is not installed")
def test_git_commit_and_dirty_flag(tmp_path: Path) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "assets.yaml").write_text("assets: []\n", encoding="utf-8")
    _git(repo, "add", "assets.yaml")
    _git(repo, "commit", "-q", "-m", "init")
    head = _git(repo, "rev-parse", "HEAD")

    assert environment_fingerprint(project_dir=repo)["git"] == {"commit": head, "dirty": False}
    (repo / "new_prompt.txt").write_text("a knight\n", encoding="utf-8")  # untracked counts as dirty
    assert environment_fingerprint(project_dir=repo)["git"] == {"commit": head, "dirty": True}


def test_git_outside_a_repository_is_null(tmp_path: Path) -> None:
    assert environment_fingerprint(project_dir=tmp_path)["git"] is None


def test_git_missing_binary_is_tolerated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    assert envinfo.git_info(tmp_path) is None
