"""Trained adapter versions on disk, and which one serves each role.

A fine-tuning pipeline writes each trained adapter as a version folder under one root (``<data_dir>/adapters``):
a PEFT ``adapter_config.json`` and its weights next to a ``kubeai_card.json`` that may carry ``role`` (e.g.
``metrics:demo_ecommerce``), ``created`` (ISO timestamp), ``gate`` (the eval gate's verdict: ``passed`` and its
figures), ``data_hash``, ``recipe`` and ``train_seconds``; unknown keys are kept as they are. Hidden folders (a
trainer's staging directories) are not versions. A version is served under its folder name.

Which version serves a role lives in one file, ``<root>/routes.json``::

    {"metrics:demo_ecommerce": {"current": "metrics-demo-v3", "previous": ["metrics-demo-v2", "metrics-demo-v1"]}}

``previous`` lists the versions promoted before, most recent first. The file is replaced atomically (a temporary
file, then :func:`os.replace`) under a lock, so a reader never sees half a route. :func:`activate` and
:func:`roll_back` load the adapter into the running server first and write the route only after the server took
it; the launcher serves every routed adapter at start (``AdapterStore.routed``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from kubeai.errors import ModelServerError, ModelServerUnavailableError, ServingError
from serving.registry import ADAPTER_CARD_FILE, read_adapter_rank

__all__ = [
    "ROUTES_FILE",
    "Activation",
    "AdapterServer",
    "AdapterStore",
    "AdapterVersion",
    "activate",
    "active_model",
    "roll_back",
]

ROUTES_FILE = "routes.json"
_LOCK_FILE = ".routes.lock"

Routes = dict[str, dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class AdapterVersion:
    """One trained adapter folder: its served name, where it is, and what its card says.

    Attributes:
        name: The folder name, which is also the name the server serves it under.
        path: The folder holding ``adapter_config.json`` and the card.
        role: What it was trained for (the card's ``role``), ``None`` when the card names none.
        created: When it was trained (the card's ``created``, else the card file's modification time), in UTC.
        card: The whole card as written, unknown keys included.
        gate_passed: The card's ``gate.passed``; ``None`` when no gate verdict was recorded.
    """

    name: str
    path: Path
    role: str | None
    created: datetime
    card: dict[str, Any] = field(hash=False, compare=False, repr=False)
    gate_passed: bool | None


@dataclass(frozen=True, kw_only=True)
class Activation:
    """What :func:`activate` or :func:`roll_back` did.

    Attributes:
        version: The version that now serves the role.
        role: The role whose route was written.
        loaded: Whether the running server took the adapter now; ``False`` when no server answered, in which case
            ``kubeai serve`` loads it at the next start.
    """

    version: AdapterVersion
    role: str
    loaded: bool


class AdapterServer(Protocol):
    """What :func:`activate` needs of a model server (:class:`~serving.client.ModelClient` fits)."""

    async def load_adapter(self, name: str, path: Path) -> None:
        """Load the LoRA adapter in ``path`` under ``name``."""

    async def models(self) -> list[str]:
        """The names the server serves."""


class AdapterStore:
    """The adapter versions under ``root`` and the routes that pick one version per role.

    Args:
        root: The folder of version folders (the project uses ``<data_dir>/adapters``); it need not exist yet.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def routes_file(self) -> Path:
        """The JSON file naming each role's current and previous versions."""
        return self.root / ROUTES_FILE

    def versions(self, role: str | None = None) -> list[AdapterVersion]:
        """Every version (or those whose card names ``role``), newest first.

        Raises:
            ServingError: A version's card is not a JSON object.
        """
        if not self.root.is_dir():
            return []
        found = [
            self._read(entry)
            for entry in self.root.iterdir()
            if entry.is_dir() and not entry.name.startswith(".") and _is_version(entry)
        ]
        chosen = [v for v in found if role is None or v.role == role]
        return sorted(chosen, key=lambda v: (v.created, v.name), reverse=True)

    def get(self, name: str) -> AdapterVersion:
        """The version named ``name``.

        Raises:
            ServingError: No such version, or its card is not a JSON object.
        """
        path = self.root / name
        if not _is_plain_name(name) or not _is_version(path):
            raise ServingError(
                f"No adapter version {name!r} in {self.root}; `kubeai adapters list` shows the versions there."
            )
        return self._read(path)

    def current(self) -> dict[str, str]:
        """Each routed role's current version name, read from ``routes.json`` (empty when there is none).

        Raises:
            ServingError: ``routes.json`` is not valid.
        """
        return {role: route["current"] for role, route in sorted(self._routes().items())}

    def active(self, role: str) -> AdapterVersion | None:
        """The version that serves ``role``, or ``None`` when nothing was promoted for it.

        Raises:
            ServingError: ``routes.json`` is not valid, or the routed version's folder is gone.
        """
        name = self.current().get(role)
        return None if name is None else self._routed(role, name)

    def history(self, role: str) -> list[AdapterVersion]:
        """The versions promoted for ``role``: the current one first, then earlier ones, most recent first.

        Earlier versions whose folders were deleted are left out.

        Raises:
            ServingError: ``routes.json`` is not valid, or the current version's folder is gone.
        """
        route = self._routes().get(role)
        if route is None:
            return []
        earlier = [self._read(self.root / n) for n in route["previous"] if _is_version(self.root / n)]
        return [self._routed(role, route["current"]), *earlier]

    def routed(self) -> list[tuple[str, Path]]:
        """``(name, path)`` of every role's current version, for the launcher to serve; each name once.

        Raises:
            ServingError: ``routes.json`` is not valid, or a routed version's folder is gone.
        """
        served: dict[str, Path] = {}
        for role, name in self.current().items():
            served.setdefault(name, self._routed(role, name).path)
        return list(served.items())

    def promote(
        self, name: str, *, role: str | None = None, force: bool = False, max_lora_rank: int | None = None
    ) -> AdapterVersion:
        """Route ``role`` to version ``name``; the version it replaces becomes the first to roll back to.

        This writes the route only; :func:`activate` loads the adapter into a running server first.

        Args:
            name: The version to serve.
            role: The role it serves; ``None`` takes the card's ``role``.
            force: Promote even though the card says the eval gate did not pass.
            max_lora_rank: The server's ``serving.max_lora_rank``; a version above it is refused.

        Raises:
            ServingError: No such version, no role to serve, a role other than the card's, a failed gate without
                ``force``, an adapter the server cannot load, or an invalid ``routes.json``.
        """
        version, chosen = self.check_promotion(name, role=role, force=force, max_lora_rank=max_lora_rank)
        with self._locked():
            routes = self._routes()
            route = routes.get(chosen)
            if route is None:
                routes[chosen] = {"current": name, "previous": []}
            elif route["current"] != name:
                earlier = [route["current"], *(n for n in route["previous"] if n not in (name, route["current"]))]
                routes[chosen] = {"current": name, "previous": earlier}
            self._write(routes)
        return version

    def check_promotion(
        self, name: str, *, role: str | None = None, force: bool = False, max_lora_rank: int | None = None
    ) -> tuple[AdapterVersion, str]:
        """The version :meth:`promote` would route and the role it would serve, without writing anything.

        Raises:
            ServingError: As for :meth:`promote`.
        """
        version = self.get(name)
        if role is not None and version.role is not None and role != version.role:
            raise ServingError(
                f"Adapter {name!r} was trained for role {version.role!r}, not {role!r}; promote a version trained "
                f"for {role!r}."
            )
        chosen = role or version.role
        if chosen is None:
            raise ServingError(f"Adapter {name!r} names no role in its {ADAPTER_CARD_FILE}; pass the role to serve.")
        if version.gate_passed is False and not force:
            raise ServingError(
                f"Adapter {name!r} did not pass its eval gate ({_gate_summary(version)}); retrain it, or promote it "
                "anyway with --force."
            )
        rank = read_adapter_rank(version.path, name=name)
        if max_lora_rank is not None and rank > max_lora_rank:
            raise ServingError(
                f"Adapter {name!r} has LoRA rank {rank}, above serving.max_lora_rank={max_lora_rank}; raise "
                "serving.max_lora_rank in kubeai.yaml."
            )
        return version, chosen

    def rollback(self, role: str) -> AdapterVersion:
        """Route ``role`` back to the version promoted before the current one, and forget the current one.

        Earlier versions whose folders were deleted are skipped and dropped.

        Raises:
            ServingError: Nothing was promoted for ``role``, no earlier version remains, or ``routes.json`` is
                not valid.
        """
        with self._locked():
            routes = self._routes()
            target, rest = self._rollback_target(routes, role)
            routes[role] = {"current": target.name, "previous": rest}
            self._write(routes)
        return target

    def rollback_target(self, role: str) -> AdapterVersion:
        """The version :meth:`rollback` would route ``role`` to, without writing anything.

        Raises:
            ServingError: As for :meth:`rollback`.
        """
        return self._rollback_target(self._routes(), role)[0]

    def _rollback_target(self, routes: Routes, role: str) -> tuple[AdapterVersion, list[str]]:
        route = routes.get(role)
        if route is None:
            raise ServingError(
                f"No adapter was promoted for role {role!r}, so there is nothing to roll back; "
                "`kubeai adapters promote NAME` routes one."
            )
        earlier = [n for n in route["previous"] if _is_version(self.root / n)]
        if not earlier:
            raise ServingError(
                f"Role {role!r} has no earlier version to roll back to (current: {route['current']!r}); promote "
                "another version instead."
            )
        return self._read(self.root / earlier[0]), earlier[1:]

    def _routed(self, role: str, name: str) -> AdapterVersion:
        if not _is_version(self.root / name):
            raise ServingError(
                f"Role {role!r} is routed to adapter {name!r}, but {self.root / name} holds no adapter; promote "
                f"another version or roll back with `kubeai adapters rollback {role}`."
            )
        return self._read(self.root / name)

    def _read(self, path: Path) -> AdapterVersion:
        card_file = path / ADAPTER_CARD_FILE
        try:
            card = json.loads(card_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ServingError(
                f"Adapter card {card_file} is not readable JSON ({exc}); retrain that version."
            ) from None
        if not isinstance(card, dict):
            raise ServingError(f"Adapter card {card_file} is not a JSON object; retrain that version.")
        role = card.get("role")
        gate = card.get("gate")
        passed = gate.get("passed") if isinstance(gate, dict) else None
        return AdapterVersion(
            name=path.name,
            path=path,
            role=role if isinstance(role, str) and role else None,
            created=_created(card.get("created"), card_file),
            card=card,
            gate_passed=passed if isinstance(passed, bool) else None,
        )

    def _routes(self) -> Routes:
        try:
            text = self.routes_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ServingError(f"Cannot read {self.routes_file} ({exc.strerror}); check its permissions.") from None
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not all(_is_route(route) for route in data.values()):
            raise ServingError(
                f"{self.routes_file} is not valid routes JSON ({{role: {{'current': name, 'previous': [names]}}}}); "
                "fix or delete it and promote again."
            )
        return {str(role): {"current": r["current"], "previous": list(r["previous"])} for role, r in data.items()}

    def _write(self, routes: Routes) -> None:
        text = json.dumps(dict(sorted(routes.items())), ensure_ascii=False, indent=2) + "\n"
        handle, temporary = tempfile.mkstemp(prefix=f".{ROUTES_FILE}-", dir=self.root)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o644)  # mkstemp creates 0600; a server running as another user reads it
            os.replace(temporary, self.routes_file)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold an exclusive lock on the routes while reading, changing and writing them."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / _LOCK_FILE).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


async def activate(
    store: AdapterStore,
    name: str,
    *,
    client: AdapterServer,
    role: str | None = None,
    force: bool = False,
    max_lora_rank: int | None = None,
) -> Activation:
    """Promote version ``name``: load it into the running server first, then write its route.

    If the server refuses the adapter, ``routes.json`` is left as it was and the error propagates. If no server
    answers (:class:`~kubeai.errors.ModelServerUnavailableError`), the route is still written and
    ``Activation.loaded`` is ``False``: ``kubeai serve`` loads every routed adapter when it starts.

    Args:
        store: The adapter versions and their routes.
        name: The version to serve.
        client: The running server (a :class:`~serving.client.ModelClient`).
        role: The role it serves; ``None`` takes the card's ``role``.
        force: Promote even though the card says the eval gate did not pass.
        max_lora_rank: The server's ``serving.max_lora_rank``; a version above it is refused.

    Raises:
        ServingError: As for :meth:`AdapterStore.promote`.
        ModelServerError: The running server refused the adapter or did not answer in time.
    """
    version, chosen = store.check_promotion(name, role=role, force=force, max_lora_rank=max_lora_rank)
    loaded = await _load(client, version)
    store.promote(name, role=chosen, force=force, max_lora_rank=max_lora_rank)
    return Activation(version=version, role=chosen, loaded=loaded)


async def roll_back(store: AdapterStore, role: str, *, client: AdapterServer) -> Activation:
    """Roll ``role`` back to its previous version: load it into the running server first, then write the route.

    As with :func:`activate`, a refusal leaves ``routes.json`` unchanged, and a server that is not running leaves
    the loading to the next ``kubeai serve`` (``Activation.loaded`` is ``False``).

    Raises:
        ServingError: As for :meth:`AdapterStore.rollback`.
        ModelServerError: The running server refused the adapter or did not answer in time.
    """
    target = store.rollback_target(role)
    loaded = await _load(client, target)
    store.rollback(role)
    return Activation(version=target, role=role, loaded=loaded)


def active_model(store: AdapterStore, role: str) -> str | None:
    """The served name of the adapter promoted for ``role``, or ``None`` when none was (use the base model).

    Raises:
        ServingError: ``routes.json`` is not valid, or the routed version's folder is gone.
    """
    version = store.active(role)
    return None if version is None else version.name


async def _load(client: AdapterServer, version: AdapterVersion) -> bool:
    """Load ``version`` into the server; ``False`` when no server answers. An adapter already served counts."""
    try:
        await client.load_adapter(version.name, version.path.resolve())
    except ModelServerUnavailableError:
        return False
    except ModelServerError:
        # vLLM refuses to load a name twice (HTTP 400); a version is immutable, so one already served is loaded.
        with contextlib.suppress(ModelServerError):
            if version.name in await client.models():
                return True
        raise
    return True


def _is_version(path: Path) -> bool:
    return (path / "adapter_config.json").is_file() and (path / ADAPTER_CARD_FILE).is_file()


def _is_route(route: object) -> bool:
    return (
        isinstance(route, dict)
        and _is_plain_name(route.get("current"))
        and isinstance(route.get("previous"), list)
        and all(_is_plain_name(name) for name in route["previous"])
    )


def _is_plain_name(name: object) -> bool:
    """Whether ``name`` is a version folder's name: no path separators, not hidden, not empty."""
    return isinstance(name, str) and bool(name) and not name.startswith(".") and Path(name).name == name


def _created(value: object, card_file: Path) -> datetime:
    """The card's ``created`` timestamp in UTC (naive ones read as UTC), else the card file's modification time."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            stamp = datetime.fromisoformat(value)
            return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    return datetime.fromtimestamp(card_file.stat().st_mtime, tz=UTC)


def _gate_summary(version: AdapterVersion) -> str:
    gate = version.card.get("gate")
    figures = {
        side: gate[side].get("accuracy")
        for side in ("candidate", "incumbent")
        if isinstance(gate, dict) and isinstance(gate.get(side), dict)
    }
    shown = [f"{side} accuracy {value:.3f}" for side, value in figures.items() if isinstance(value, int | float)]
    return ", ".join(shown) or "gate.passed is false"
