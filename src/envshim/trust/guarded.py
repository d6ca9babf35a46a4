"""Names that take over a shell or a tool: only committed, trusted config may set them.

A secret file is readable by anyone with the public key in ``.sops.yaml`` to
*write*: ``sops encrypt --age <pub>`` or ``age -r <pub>`` make a file that
decrypts for every teammate. So the team and user layers may set values, but
never a name that makes the next command run somebody's code: a search path
(``PATH``, ``PYTHONPATH``, ``LD_LIBRARY_PATH``), a preload (``LD_PRELOAD``), a
file a shell sources (``BASH_ENV``, ``ENV``, ``ZDOTDIR``), a prompt or hook
evaluated by the shell (``PROMPT_COMMAND``, ``PS1``), an option string a
runtime obeys (``NODE_OPTIONS``, ``JAVA_TOOL_OPTIONS``, ``PERL5OPT``), a
command a tool runs (``GIT_SSH_COMMAND``, ``EDITOR``, ``PAGER``,
``SOPS_AGE_KEY_CMD``), or envshim's, mise's and direnv's own settings. A
project that really keeps one of them in a secret file names it in
``envshim.toml``: ``allow_guarded = ["NODE_OPTIONS"]``, which ``envshim allow``
shows apart.
"""

from __future__ import annotations

OPTION = "allow_guarded"

GUARDED_NAMES = frozenset(
    {
        # shells: files they source, strings they evaluate, how they split words
        "BASH_ENV",
        "ENV",
        "ZDOTDIR",
        "PROMPT_COMMAND",
        "PS0",
        "PS1",
        "PS2",
        "PS3",
        "PS4",
        "PROMPT",
        "PROMPT2",
        "PROMPT3",
        "PROMPT4",
        "RPROMPT",
        "RPROMPT2",
        "RPS1",
        "RPS2",
        "IFS",
        "SHELLOPTS",
        "BASHOPTS",
        "BASH_XTRACEFD",
        "HISTFILE",
        "INPUTRC",
        "fish_function_path",
        "fish_complete_path",
        "SHELL",
        "HOME",
        "TMPDIR",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_CACHE_HOME",
        "XDG_RUNTIME_DIR",
        "XDG_CONFIG_DIRS",
        "XDG_DATA_DIRS",
        # runtimes: code they load at start-up
        "PYTHONSTARTUP",
        "PYTHONHOME",
        "PYTHONINSPECT",
        "PYTHONUSERBASE",
        "PYTHONBREAKPOINT",
        "NODE_OPTIONS",
        "PERL5OPT",
        "PERL5DB",
        "RUBYOPT",
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "JDK_JAVA_OPTIONS",
        "CLASSPATH",
        # tools: commands they run on your behalf
        "EDITOR",
        "VISUAL",
        "PAGER",
        "MANPAGER",
        "LESSOPEN",
        "LESSCLOSE",
        "BROWSER",
        "SSH_ASKPASS",
        "SUDO_ASKPASS",
        "SUDO_EDITOR",
        "TERMINFO",
        "CC",
        "CXX",
        "LDFLAGS",
        "CFLAGS",
        "CPPFLAGS",
    }
)

# Every name with one of these prefixes (LD_PRELOAD, DYLD_INSERT_LIBRARIES,
# GIT_SSH_COMMAND, PIP_INDEX_URL, SOPS_AGE_KEY_CMD, ENVSHIM_QUIET, …).
GUARDED_PREFIXES = (
    "LD_",
    "DYLD_",
    "BASH_FUNC_",
    "GIT_",
    "PIP_",
    "UV_",
    "NPM_CONFIG_",
    "npm_config_",
    "SOPS_",
    "ENVSHIM_",
    "MISE_",
    "DIRENV_",
    "PYTHONPATH",
    "PERL5LIB",
    "PERLLIB",
    "RUBYLIB",
    "NODE_PATH",
)


def is_guarded(name: str) -> bool:
    """True for a name the team and user layers may not set on their own.

    Every ``…PATH`` list (``PATH``, ``MANPATH``, ``CDPATH``, ``FPATH``,
    ``LD_LIBRARY_PATH``, ``GOPATH`` …) counts: a search path decides which
    program or module runs.
    """
    return (
        name in GUARDED_NAMES or name.upper().endswith("PATH") or name.startswith(GUARDED_PREFIXES)
    )


def allowed_by_config(options: object) -> frozenset[str]:
    """The guarded names the committed ``allow_guarded`` option lets secrets set."""
    value = options.get(OPTION) if isinstance(options, dict) else None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return frozenset()
    return frozenset(v for v in value if isinstance(v, str))
