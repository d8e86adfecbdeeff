"""Strict readers for configuration taken from the environment.

Settings are read in one place (``bcsite.settings``); a value that cannot be
parsed stops start-up with a message naming the variable, rather than being
silently taken as a default.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def local_secret_key(path) -> str:
    """A key generated once per checkout, for machines that set no SECRET_KEY.

    Deployments set SECRET_KEY; this keeps sessions valid across restarts of a
    local instance without shipping a key in the repository.
    """
    import secrets
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        # Write aside and rename, so concurrent first starts agree on one key.
        tmp = path.with_name(f"{path.name}.{os.getpid()}")
        # Created readable by its owner only, before the key is written into it.
        descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(50))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
