"""zsh: POSIX single quotes, except that a value with a newline is written ``$'…'``.

With ``setopt csh_junkie_quotes`` a newline inside ``'…'`` is an error, so a
multi-line value uses ``$'…'`` with ``\\n``; inside it only ``\\``, ``'`` and the
newline need escaping. Neither form is subject to history expansion.
"""

from __future__ import annotations

from .base import Renderer, one_line_quote

# Measured by tests/test_shells_reserved.py with the modules a zshrc commonly loads:
# special parameters that are read-only, integer-typed, dynamic or arrays (tied ones
# like ``path`` change ``PATH`` instead).
_ZSH_RESERVED_NAMES = """
    ARGC COLUMNS EGID EPOCHREALTIME EPOCHSECONDS ERRNO EUID FUNCNEST GID HISTCHARS HISTCMD
    HISTSIZE KEYBOARD_HACK KEYTIMEOUT LINENO LINES LISTMAX LOGCHECK MAILCHECK OPTIND PPID
    RANDOM SAVEHIST SECONDS SHLVL TRY_BLOCK_ERROR TRY_BLOCK_INTERRUPT TTYIDLE UID USERNAME
    ZCURSES_COLORS ZCURSES_COLOR_PAIRS ZLE_RPROMPT_INDENT ZSH_EVAL_CONTEXT ZSH_SUBSHELL
    aliases argv builtins cdpath commands dirstack dis_aliases dis_builtins dis_functions
    dis_functions_source dis_galiases dis_patchars dis_reswords dis_saliases epochtime errnos
    fignore fpath funcfiletrace funcsourcetrace funcstack functions functions_source functrace
    galiases histchars history historywords jobdirs jobstates jobtexts keymaps langinfo
    mailpath manpath mapfile module_path modules nameddirs options parameters patchars path
    pipestatus psvar reswords saliases signals status sysparams termcap terminfo userdirs
    usergroups watch widgets zcurses_attrs zcurses_colors zcurses_keycodes zcurses_windows
    zle_bracketed_paste zsh_eval_context zsh_scheduled_events
"""
ZSH_RESERVED = frozenset(_ZSH_RESERVED_NAMES.split())


class ZshRenderer(Renderer):
    name = "zsh"
    reserved = ZSH_RESERVED

    def quote(self, value: str) -> str:
        return one_line_quote(value)

    def export(self, key: str, value: str) -> str:
        return f"export {key}={self.quote(value)}"

    def unset(self, key: str) -> str:
        return f"unset {key}"
