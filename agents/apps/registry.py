"""The app registry: the bundled apps and a user's apps from ``apps.dir``, each file validated when it loads.

A user adds an app by adding ``<name>.yaml`` to the folder ``apps.dir`` names; nothing is imported from it. Loading
stops at the first bad file with its one sentence (:func:`agents.apps.spec.load_app_file`), so a broken app is found
when the registry opens, not when someone runs it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

from agents.apps.spec import PromptApp, load_app_file
from kubeai.errors import ConfigError, KubeAIError

__all__ = ["BUNDLED_APPS_DIR", "AppRegistry"]

BUNDLED_APPS_DIR = Path(__file__).resolve().parent / "bundled"
"""The folder of the apps that ship with the project."""


class AppRegistry:
    """Validated prompt apps by name, bundled ones first."""

    def __init__(self, apps: Mapping[str, PromptApp]) -> None:
        self._apps = dict(apps)

    @classmethod
    def load(
        cls,
        *,
        user_dir: Path | None = None,
        models: Collection[str] = (),
        bundled_dir: Path = BUNDLED_APPS_DIR,
    ) -> AppRegistry:
        """Load the bundled apps and those in ``user_dir``.

        Args:
            user_dir: The user's app folder (``apps.dir``); ``None`` for the bundled apps only.
            models: The registered model and adapter names an app may ask for; empty accepts any.
            bundled_dir: Where the bundled apps are.

        Returns:
            The registry.

        Raises:
            ConfigError: A file is invalid, two apps share a name, an app asks for a model that is not registered,
                or ``user_dir`` is not a folder.
        """
        apps: dict[str, PromptApp] = {}
        sources = [(bundled_dir, True)]
        if user_dir is not None:
            if not user_dir.is_dir():
                raise ConfigError(
                    f"Config field `apps.dir` names {user_dir}, which is not a folder; create it or fix the path.",
                    field="apps.dir",
                )
            sources.append((user_dir, False))
        for folder, bundled in sources:
            for path in sorted(folder.glob("*.yaml")):
                app = load_app_file(path, bundled=bundled)
                if app.name in apps:
                    raise ConfigError(
                        f"App file {path} field `name`: {app.name!r} is already the app in {apps[app.name].path}; "
                        "give this one another name.",
                        field="name",
                        source=str(path),
                    )
                if models and app.spec.model is not None and app.spec.model not in models:
                    raise ConfigError(
                        f"App file {path} field `model`: {app.spec.model!r} is not registered; use one of "
                        f"{', '.join(models)}.",
                        field="model",
                        source=str(path),
                    )
                apps[app.name] = app
        return cls(apps)

    def get(self, name: str) -> PromptApp:
        """The app called ``name``.

        Raises:
            KubeAIError: There is no such app; the sentence lists the apps there are.
        """
        if name not in self._apps:
            raise KubeAIError(
                f"There is no app {name!r}; the apps are: {', '.join(self._apps) or 'none'} (see `kubeai app list`)."
            )
        return self._apps[name]

    def __contains__(self, name: object) -> bool:
        return name in self._apps

    def __iter__(self) -> Iterator[PromptApp]:
        return iter(self._apps.values())

    def __len__(self) -> int:
        return len(self._apps)
