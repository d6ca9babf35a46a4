"""zsh: the same quoting as bash; a different set of special parameters."""

from __future__ import annotations

from .base import Renderer, single_quote_posix

# zsh's special parameters (zshparam(1)): read-only, tied arrays, or shell state.
ZSH_RESERVED = frozenset({
    "ARGC", "EGID", "ERRNO", "EUID", "GID", "HISTCMD", "LINENO", "PPID", "RANDOM",
    "SECONDS", "TTYIDLE", "UID", "USERNAME", "ZSH_ARGZERO", "ZSH_EVAL_CONTEXT",
    "ZSH_SUBSHELL", "argv", "cdpath", "dirstack", "fignore", "fpath", "histchars",
    "mailpath", "manpath", "module_path", "path", "pipestatus", "prompt", "psvar",
    "signals", "status", "watch", "zsh_eval_context", "funcstack", "funcfiletrace",
    "funcsourcetrace", "functrace", "options", "parameters", "commands", "functions",
    "aliases", "modules", "history", "historywords", "jobdirs", "jobstates", "jobtexts",
    "nameddirs", "userdirs", "termcap", "terminfo", "widgets", "keymaps", "reswords",
    "sysparams", "epochtime", "EPOCHSECONDS", "EPOCHREALTIME",
})


class ZshRenderer(Renderer):
    name = "zsh"
    reserved = ZSH_RESERVED

    def export(self, key: str, value: str) -> str:
        return f"export {key}={single_quote_posix(value)}"

    def unset(self, key: str) -> str:
        return f"unset {key}"
