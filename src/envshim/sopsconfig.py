"""``.sops.yaml`` creation rules, read as sops reads them and edited without losing comments.

sops takes the first ``creation_rules`` entry whose ``path_regex`` matches the
file's path relative to the config's directory (a rule without one matches
everything). A rule names age recipients as a comma-separated string or a
list, or ``key_groups`` (with ``shamir_threshold``), plus at most one of the
encryption rules. envshim looks for ``.sops.yaml`` (then ``.sops.yml``) from
the secret file's directory upwards; sops looks from the working directory,
which is the same place when you run it from the project root.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .errors import ConfigError

NAMES = (".sops.yaml", ".sops.yml")
RULE_KEYS = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex")
DEFAULT_PATH_REGEX = r"(^|/)secrets(\.[^/]*)?\.(enc\.(env|ya?ml|json)|env\.age)$"


def find_config(start: Path) -> Path | None:
    start = start if start.is_dir() else start.parent
    for d in [start, *start.resolve().parents]:
        for name in NAMES:
            if (d / name).is_file():
                return d / name
    return None


def _yaml() -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 1 << 30
    return y


def load(path: Path) -> Any:
    """The parsed config (ruamel round-trip objects); a damaged file is a one-line error."""
    from .safeio import read_regular
    from .yamlread import load_all

    try:
        text = read_regular(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read ({type(exc).__name__})", path=path, hint="check the file"
        ) from None
    docs = load_all(_yaml(), text, path)  # errors quote nothing; aliases bounded
    data = docs[0] if docs else None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            "expected a mapping with creation_rules",
            path=path,
            hint="see https://getsops.io/docs/#using-sops-yaml-conf-to-select-kms-pgp-and-age-for-new-files",
        )
    rules = data.get("creation_rules")
    if rules is not None and not (
        isinstance(rules, list) and all(isinstance(r, dict) for r in rules)
    ):
        raise ConfigError(
            "creation_rules must be a list of mappings",
            path=path,
            line=_line(data, "creation_rules"),
            hint="write `creation_rules:` then `- path_regex: …`",
        )
    return data


def _line(node: Any, key: Any) -> int | None:
    try:
        return node.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None


def _rule_line(rule: Any) -> int | None:
    try:
        return rule.lc.line + 1
    except AttributeError:
        return None


def split_recipients(value: Any) -> list[str]:
    """sops' age field: a comma-separated string or a list of strings."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    out = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if part:
                out.append(part)
    return out


def relative(config: Path, file: Path) -> str:
    base = config.parent.resolve()
    target = (
        file.resolve() if file.is_absolute() or file.exists() else (Path.cwd() / file).resolve()
    )
    try:
        return target.relative_to(base).as_posix()
    except ValueError:
        return target.as_posix()


def matching_rule(config: Path, data: Any, file: Path) -> Any | None:
    rel = relative(config, file)
    for rule in data.get("creation_rules") or []:
        regex = rule.get("path_regex")
        if not regex:
            return rule
        from .linear_regex import RegexError, compile_linear

        try:
            if compile_linear(str(regex)).search(rel):  # Go's semantics, linear time
                return rule
        except RegexError as exc:
            raise ConfigError(
                f"path_regex is not a valid regular expression ({exc})",
                path=config,
                line=_rule_line(rule),
                hint="fix the regex",
            ) from None
    return None


def creation_rule(file: Path, config: Path | None = None):
    """The :class:`~envshim.formats.sops.CreationRule` for a new or re-keyed ``file``."""
    from .formats.sops import CreationRule
    from .keys import parse_recipient

    config = config or find_config(file.parent if file.parent.exists() else Path.cwd())
    if config is None:
        raise ConfigError(
            "no .sops.yaml found for this file",
            path=file,
            hint="`envshim init` sets up the project, your key and its .sops.yaml",
        )
    data = load(config)
    rule = matching_rule(config, data, file)
    if rule is None:
        raise ConfigError(
            f"no creation rule in {config.name} matches {relative(config, file)}",
            path=config,
            hint="add a path_regex that matches it",
        )
    groups: list[list[str]] = []
    if rule.get("key_groups"):
        for group in rule["key_groups"]:
            groups.append(split_recipients(group.get("age") if isinstance(group, dict) else None))
    else:
        groups.append(split_recipients(rule.get("age")))
    for group in groups:
        for r in group:
            try:
                parse_recipient(r)
            except ConfigError as exc:
                raise ConfigError(
                    exc.message, path=config, line=_rule_line(rule), hint=exc.hint
                ) from None
    rules = [(k, str(rule[k])) for k in RULE_KEYS if rule.get(k)]
    if len(rules) > 1:
        raise ConfigError(
            "a creation rule may set only one of " + ", ".join(RULE_KEYS),
            path=config,
            line=_rule_line(rule),
            hint="keep one",
        )
    try:
        threshold = int(rule.get("shamir_threshold") or 0)
    except (TypeError, ValueError):
        raise ConfigError(
            "shamir_threshold must be a number",
            path=config,
            line=_rule_line(rule),
            hint="write shamir_threshold: 2",
        ) from None
    return CreationRule(
        groups=groups,
        rule=rules[0] if rules else ("unencrypted_suffix", "_unencrypted"),
        shamir_threshold=threshold,
        mac_only_encrypted=bool(rule.get("mac_only_encrypted")),
    )


def _age_field(rule: Any) -> list[Any]:
    """The age fields of a rule that recipients are edited in (each key group's, or the rule's)."""
    if rule.get("key_groups"):
        return [g for g in rule["key_groups"] if isinstance(g, dict)]
    return [rule]


def _set_age(holder: Any, recipients: list[str]) -> None:
    """Write the age field back in the style it had: a list stays a list, else sops' comma string."""
    if isinstance(holder.get("age"), list):
        from ruamel.yaml.comments import CommentedSeq

        holder["age"] = CommentedSeq(recipients)
    elif recipients:
        holder["age"] = ",".join(recipients)
    elif "age" in holder:
        del holder["age"]


def edit_recipients(
    config: Path, files: list[Path], *, add: str | None = None, remove: str | None = None
) -> list[str]:
    """Add or remove one recipient in every rule that applies to ``files`` (comments kept).

    Creates ``.sops.yaml`` with one rule for the conventional secret names when
    there is none. Returns the recipients of the first rule afterwards.
    """
    from .atomic import replace_preserving_mode, write_atomic
    from .keys import normalize_recipient

    if config.exists():
        data = load(config)
    else:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        data = CommentedMap()
        rule = CommentedMap()
        # the conventional names; a project naming other files gets a rule for every file
        if all(re.search(DEFAULT_PATH_REGEX, relative(config, f)) for f in files):
            rule["path_regex"] = DEFAULT_PATH_REGEX
        rule["age"] = ""
        data["creation_rules"] = CommentedSeq([rule])
    rules = data.get("creation_rules")
    if not rules:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        rule = CommentedMap()
        rule["path_regex"] = DEFAULT_PATH_REGEX
        data["creation_rules"] = rules = CommentedSeq([rule])
    targets = []
    for f in files:
        r = matching_rule(config, data, f)
        if r is not None and all(r is not t for t in targets):
            targets.append(r)
    if not targets:
        targets = [rules[0]]
    result: list[str] = []
    for rule in targets:
        for holder in _age_field(rule):
            current = split_recipients(holder.get("age"))
            norm = [normalize_recipient(r) for r in current]
            if add is not None and normalize_recipient(add) not in norm:
                current.append(add.strip())
            if remove is not None:
                current = [
                    r for r in current if normalize_recipient(r) != normalize_recipient(remove)
                ]
            _set_age(holder, current)
            if not result:
                result = current
    import io

    buf = io.StringIO()
    _yaml().dump(data, buf)
    if config.exists():
        replace_preserving_mode(config, buf.getvalue())
    else:
        write_atomic(config, buf.getvalue(), mode=0o644, lock=False)
    return result


def all_rule_recipients(config: Path) -> list[str]:
    data = load(config)
    out: list[str] = []
    for rule in data.get("creation_rules") or []:
        for holder in _age_field(rule):
            for r in split_recipients(holder.get("age")):
                if r not in out:
                    out.append(r)
    return out
