"""Fingerprint of the machine and software a build ran on, for provenance records.

The fingerprint answers "could this render be reproduced here?": Python and OS,
CPU architecture (aarch64 vs x86_64 changes float results), versions of the
libraries that shape pixels, the GPU and driver, the git commit of the project,
and the seeds used.

It must stay cheap and side-effect free, so it never imports torch: library
versions come from installed package metadata, and CUDA/cuDNN versions are read
only when torch is already in ``sys.modules`` (a render already loaded it).

GPU facts come from NVML through the ``pynvml`` module that the ``nvidia-ml-py``
package installs. Only stable facts are recorded (name, UUID, driver, power
limit, *maximum* clocks, memory size); current clocks and temperatures change
from one call to the next and would make the fingerprint differ for one build.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

# Distribution names (as installed) whose versions change what a render produces.
TRACKED_PACKAGES: tuple[str, ...] = (
    "torch",
    "diffusers",
    "transformers",
    "peft",
    "numpy",
    "Pillow",
    "pixelgen",
)

_GIT_TIMEOUT_S = 10


def environment_fingerprint(*, project_dir: Path | None = None, seeds: Sequence[int] = ()) -> dict[str, Any]:
    """Describe this machine and software as JSON-serialisable data with a fixed key order.

    ``project_dir``: the git work tree to record the commit and dirty flag of
    (``None``: no git lookup). ``seeds``: the seeds the build used.
    """
    seed_list = []
    for seed in seeds:
        # bool is an int subclass; a True seed is a caller bug, not seed 1.
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed {seed!r} is not an integer; pass the integer seeds the build used")
        seed_list.append(seed)

    gpu, gpu_reason = gpu_info()
    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "os": platform.platform(),
        },
        "packages": package_versions(),
        "torch_runtime": torch_runtime_info(),
        "gpu": gpu,
        "gpu_unavailable_reason": gpu_reason,
        "git": git_info(project_dir) if project_dir is not None else None,
        "seeds": seed_list,
    }


def package_versions(names: Sequence[str] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed versions by distribution name, ``None`` for a package that is not installed."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = _pixelgen_source_version() if name == "pixelgen" else None
    return versions


def _pixelgen_source_version() -> str | None:
    # Running from a checkout without `pip install -e .` leaves no metadata;
    # the package's own __version__ is then the truth (and pixelgen is already imported).
    try:
        from pixelgen import __version__
    except ImportError:
        return None
    return str(__version__)


def torch_runtime_info() -> dict[str, Any] | None:
    """CUDA runtime and cuDNN versions of an already imported torch, else ``None``.

    Importing torch takes seconds and initialises CUDA state, so a fingerprint
    taken before any render reports ``None`` rather than paying for it.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    cuda_version = getattr(getattr(torch, "version", None), "cuda", None)
    cudnn_version: int | None = None
    try:
        cudnn_version = torch.backends.cudnn.version()
    except Exception:  # noqa: BLE001 - cuDNN absent or broken must not fail a build record
        cudnn_version = None
    return {
        "cuda": None if cuda_version is None else str(cuda_version),
        "cudnn": None if cudnn_version is None else int(cudnn_version),
    }


def gpu_info() -> tuple[dict[str, Any] | None, str | None]:
    """``(gpu, None)`` from NVML, or ``(None, reason)`` when NVML cannot be used."""
    try:
        import pynvml  # provided by the `nvidia-ml-py` package
    except ImportError:
        return None, "pynvml not importable (install the nvidia-ml-py package for GPU facts)"
    try:
        pynvml.nvmlInit()
    except Exception as error:  # noqa: BLE001 - NVMLError subclasses, or OSError when libnvidia-ml is absent
        return None, f"NVML initialisation failed: {_nvml_error_text(error)}"
    try:
        return _read_nvml(pynvml), None
    except Exception as error:  # noqa: BLE001 - e.g. device count query failing after init
        return None, f"NVML query failed: {_nvml_error_text(error)}"
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001 - shutdown failure leaves nothing to undo
            pass


def _nvml_error_text(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text


def _text(value: Any) -> str:
    # Older NVML bindings return bytes, current ones str.
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _optional(call: Any, *args: Any) -> Any:
    """Run one NVML query; ``None`` when the device does not support it."""
    try:
        return call(*args)
    except Exception:  # noqa: BLE001 - NVMLError_NotSupported and friends: field is unknown, not fatal
        return None


def _read_nvml(pynvml: Any) -> dict[str, Any]:
    driver = _optional(pynvml.nvmlSystemGetDriverVersion)
    cuda_driver = _optional(pynvml.nvmlSystemGetCudaDriverVersion)
    devices = []
    for index in range(int(pynvml.nvmlDeviceGetCount())):
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        name = _optional(pynvml.nvmlDeviceGetName, handle)
        uuid = _optional(pynvml.nvmlDeviceGetUUID, handle)
        power_limit_mw = _optional(pynvml.nvmlDeviceGetPowerManagementLimit, handle)
        memory = _optional(pynvml.nvmlDeviceGetMemoryInfo, handle)
        max_clocks = {
            label: _optional(pynvml.nvmlDeviceGetMaxClockInfo, handle, clock)
            for label, clock in (
                ("graphics", pynvml.NVML_CLOCK_GRAPHICS),
                ("sm", pynvml.NVML_CLOCK_SM),
                ("memory", pynvml.NVML_CLOCK_MEM),
            )
        }
        devices.append(
            {
                "index": index,
                "name": None if name is None else _text(name),
                "uuid": None if uuid is None else _text(uuid),
                "power_limit_w": None if power_limit_mw is None else int(power_limit_mw) / 1000.0,
                "memory_total_mib": None if memory is None else int(memory.total) // (1024 * 1024),
                "max_clocks_mhz": {k: None if v is None else int(v) for k, v in max_clocks.items()},
            }
        )
    return {
        "driver_version": None if driver is None else _text(driver),
        "cuda_driver_version": _cuda_version_text(cuda_driver),
        "devices": devices,
    }


def _cuda_version_text(value: Any) -> str | None:
    # NVML encodes CUDA versions as 1000 * major + 10 * minor (12040 -> "12.4").
    if value is None:
        return None
    number = int(value)
    return f"{number // 1000}.{(number % 1000) // 10}"


def git_info(project_dir: Path) -> dict[str, Any] | None:
    """Commit and dirty flag of the git work tree holding ``project_dir``; ``None`` outside one.

    Tolerates a missing ``git`` binary. ``dirty`` counts untracked files too:
    an unrecorded new prompt file changes what a build makes.
    """
    commit = _git(project_dir, "rev-parse", "HEAD")
    if commit is None:
        return None
    status = _git(project_dir, "status", "--porcelain")
    return {"commit": commit, "dirty": None if status is None else status != ""}


def _git(project_dir: Path, *args: str) -> str | None:
    try:
        completed = subprocess.run(
            ["git", "-C", str(project_dir), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0:
        return None
    return completed.stdout.strip()
