# envshim for direnv: `use envshim [--env PROFILE]` in an .envrc.
# Installed by `envshim direnv install` into ~/.config/direnv/lib/envshim.sh,
# or printed by `envshim hook direnv`.
#
# The export is captured completely before it is evaluated: a failure applies
# nothing. The script declares, with one watch_file call, every file envshim read
# or could read, so editing or creating one reloads. direnv's own diff reverts.
# When the directory cannot be loaded, envshim still succeeds with a script that
# loads nothing and logs one line saying why; a non-zero exit (a usage error) has
# printed its one line already.

use_envshim() {
  local __envshim_out
  if ! __envshim_out=$("@ENVSHIM@" export bash --direnv "$@"); then
    watch_file "$PWD/mise.toml" "$PWD/.mise.toml" "$PWD/mise.local.toml" "$PWD/envshim.toml"
    return 1
  fi
  eval "$__envshim_out"
}
