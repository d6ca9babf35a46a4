"""IPython/Jupyter extension: ``%load_ext envshim``.

Loading resolves the project around the kernel's working directory (the notebook's
directory) for the default profile (``ENVSHIM_ENV`` / ``MISE_ENV``) and puts the result
into ``os.environ``, as ``envshim run`` would hand it to a child; ``%envshim PROFILE``
reloads it for another profile (``%envshim`` alone: the same one, re-read).

While loaded, every message the kernel sends passes through envshim's redaction filter
(:class:`envshim.redact.Redactor`): each secret value of the team and user layers, in
every form ``envshim scan`` looks for, becomes ``[redacted KEY]`` in stdout, stderr
(also what subprocesses write to the kernel's file descriptors), display data of every
MIME type, execution results and errors (``ename``, ``evalue`` and the traceback). The
hook is the kernel session's ``send``, the one place every message leaves through, so
the saved ``.ipynb`` never holds a secret while the cells see the real values. Stream
text goes through the redactor's streaming form, which holds back only what may be the
start of a value continued in the next write (released with the next other message,
at the latest the end of the cell), so a value written in two pieces is still caught.
Values of an earlier profile stay redacted until the extension is unloaded.

``%unload_ext envshim`` stops redacting and puts back every variable envshim set that
still holds envshim's value (a variable changed by hand is left alone, as the shell
hook does).
"""

from __future__ import annotations

import codecs
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

MAGIC = "envshim"


class _Filter:
    """Wraps one kernel session's ``send``: every message redacted, stream text through
    the redactor's streaming form (a value cut between two writes is still caught)."""

    def __init__(self, session: Any, ext: Extension) -> None:
        self.session = session
        self.ext = ext
        self.original = session.send
        self.lock = threading.RLock()
        # stream name -> (RedactStream, UTF-8 decoder, socket, parent header, ident)
        self.streams: dict[str, tuple[Any, Any, Any, Any, Any]] = {}
        self.active = True
        session.send = self.send

    def send(
        self,
        stream: Any,
        msg_or_type: Any,
        content: Any = None,
        parent: Any = None,
        ident: Any = None,
        buffers: Any = None,
        track: bool = False,
        header: Any = None,
        metadata: Any = None,
    ) -> Any:
        with self.lock:
            if not self.active:
                return self.original(stream, msg_or_type, content, parent, ident, buffers,
                                     track, header, metadata)  # fmt: skip
            if isinstance(msg_or_type, dict):  # a message built by the caller (streams)
                msg = dict(msg_or_type)
                if msg.get("header", {}).get("msg_type") == "stream":
                    return self._stream(stream, msg, ident)
                self.flush()
                msg["content"] = self._scrub(msg.get("content"))
                msg["metadata"] = self._scrub(msg.get("metadata"))
                return self.original(stream, msg, None, parent, ident, buffers, track,
                                     header, metadata)  # fmt: skip
            if msg_or_type == "stream" and isinstance(content, dict):
                msg = self.session.msg("stream", content, parent=parent, header=header,
                                       metadata=metadata)  # fmt: skip
                return self._stream(stream, msg, ident)
            self.flush()
            return self.original(stream, msg_or_type, self._scrub(content), parent, ident,
                                 buffers, track, header, self._scrub(metadata))  # fmt: skip

    def _stream(self, socket: Any, msg: dict[str, Any], ident: Any) -> Any:
        content = dict(msg.get("content") or {})
        name = str(content.get("name", "stdout"))
        state = self.streams.get(name)
        if state is None:
            decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
            state = (self.ext.redactor.stream(), decoder, socket, None, ident)
        redacting, decoder = state[0], state[1]
        data = str(content.get("text", "")).encode("utf-8", "surrogatepass")
        text = decoder.decode(redacting.feed(data))
        # what is held back goes out with this message's parent when it is released
        self.streams[name] = (redacting, decoder, socket, msg.get("parent_header"), ident)
        if not text:
            return None  # all held back: OutStream does not read the result
        content["text"] = text
        msg["content"] = content
        return self.original(socket, msg, ident=ident)

    def flush(self) -> None:
        """Release held stream text (before any other message, so the order is kept)."""
        with self.lock:
            streams, self.streams = self.streams, {}
            for name, (redacting, decoder, socket, parent, ident) in streams.items():
                text = decoder.decode(redacting.flush(), final=True)
                if text:
                    msg = self.session.msg("stream", {"name": name, "text": text}, parent=parent)
                    self.original(socket, msg, ident=ident)

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.ext.redactor.redact(value)
        if isinstance(value, dict):
            return {self._scrub(k): self._scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(v) for v in value]
        return value

    def remove(self) -> None:
        with self.lock:
            self.flush()
            self.active = False
            if self.session.__dict__.get("send") == self.send:
                del self.session.send  # back to the class's method
            # else something wrapped us in turn: stay in place, passing messages through


class Extension:
    """One kernel's loaded state: what envshim set, what it replaced, what is redacted."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.directory = os.getcwd()
        self.profile: str | None = None
        self.saved: dict[str, str | None] = {}  # key -> value before envshim set it
        self.applied: dict[str, str | None] = {}  # key -> what envshim set (None: unset)
        self.secrets: dict[str, str] = {}  # label -> value, every secret since loading
        self.filters: list[_Filter] = []
        self.redactor: Any = None

    def load(self, profile: str | None) -> None:
        """Resolve ``profile`` over the kernel's own environment and apply it; on any
        error nothing changes (the previous profile stays loaded)."""
        import envshim

        from ..redact import Redactor  # the one matcher shared with scan and run --redact

        resolution = envshim.resolve(self.directory, profile, environ=self._base())
        secrets = dict(self.secrets)
        label = ",".join(resolution.profile) or "default"
        for key in sorted(resolution.secret_keys()):
            value = resolution.get(key)
            if value is None:
                continue
            if secrets.get(key, value) != value:  # an earlier profile's value stays redacted
                secrets[f"{key} ({self._label()})"] = secrets[key]
            secrets[key] = value
        redactor = Redactor(secrets)
        for f in self.filters:
            f.flush()  # held text goes out through the redactor that held it
        self.secrets, self.redactor = secrets, redactor
        self._install()
        self._revert()
        self.saved, self.applied = {}, {}
        for key, value in resolution.changes().items():
            self.saved[key] = os.environ.get(key)
            self.applied[key] = value
            _set(key, value)
        self.profile = ",".join(resolution.profile) or None
        count = len(resolution.secret_keys())
        print(
            f"envshim: loaded {len(resolution)} variables for profile {label} from "
            f"{resolution.root} ({count} secret, redacted from this kernel's output)"
        )
        for warning in resolution.warnings:
            print(f"envshim: {warning}", file=sys.stderr)

    def unload(self) -> None:
        self._revert()
        self.saved, self.applied = {}, {}
        for f in self.filters:
            f.remove()
        self.filters = []
        self.secrets = {}

    def _label(self) -> str:
        return self.profile or "default"

    def _install(self) -> None:
        if self.filters:
            return
        seen: set[int] = set()
        for session in _sessions(self.shell):
            if id(session) not in seen:
                seen.add(id(session))
                self.filters.append(_Filter(session, self))
        if not self.filters:
            print(
                "envshim: no Jupyter kernel session here: output is not redacted",
                file=sys.stderr,
            )

    def _base(self) -> dict[str, str]:
        """The kernel's environment as it would be with envshim's values taken back."""
        env = dict(os.environ)
        for key, value in self._reverts().items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def _reverts(self) -> dict[str, str | None]:
        return {k: self.saved[k] for k, v in self.applied.items() if os.environ.get(k) == v}

    def _revert(self) -> None:
        for key, value in self._reverts().items():
            _set(key, value)


_active: dict[int, Extension] = {}  # id(shell) -> its extension


def load_ipython_extension(shell: Any) -> None:
    ext = Extension(shell)
    _active[id(shell)] = ext
    shell.register_magic_function(_magic(ext), "line", MAGIC)
    _load(ext, None)


def unload_ipython_extension(shell: Any) -> None:
    ext = _active.pop(id(shell), None)
    if ext is None:
        return
    ext.unload()
    shell.magics_manager.magics["line"].pop(MAGIC, None)


def _magic(ext: Extension) -> Callable[[str], None]:
    def envshim(line: str) -> None:
        """%envshim [PROFILE]: reload the project's environment (for PROFILE)."""
        profile = line.strip() or ext.profile
        _load(ext, profile)

    return envshim


def _load(ext: Extension, profile: str | None) -> None:
    from ..errors import EnvshimError

    try:
        ext.load(profile)
    except EnvshimError as exc:  # one line, never a value; the kernel stays as it was
        print(f"envshim: {exc}; fix it and run %envshim to try again", file=sys.stderr)
    except ModuleNotFoundError as exc:
        if exc.name != "envshim.redact":
            raise
        print(
            "envshim: the redaction filter (envshim.redact) is missing, so no secret is "
            "loaded into this kernel",
            file=sys.stderr,
        )


def _sessions(shell: Any) -> list[Any]:
    """Every jupyter_client Session this kernel sends through (usually one)."""
    places = [
        getattr(shell, "kernel", None),
        getattr(shell, "display_pub", None),
        getattr(shell, "displayhook", None),
        sys.stdout,
        sys.stderr,
    ]
    found = [getattr(place, "session", None) for place in places]
    return [s for s in found if s is not None and callable(getattr(s, "send", None))]


def _set(key: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


__all__ = ["load_ipython_extension", "unload_ipython_extension"]
