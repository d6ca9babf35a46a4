# envshim hook for zsh (precmd and chpwd). Installed with: eval "$(envshim hook zsh)"
#
# Fast path: same $PWD and profile, and no watched path newer than this shell's stamp
# file: return without starting a process. Otherwise ask envshim for one script that
# reverts the previous load and applies the new one; it is captured completely
# before it is evaluated, so a failure applies nothing.

typeset -ga _envshim_watch
typeset -g _envshim_stamp _envshim_key

_envshim_hook() {
  local __envshim_rc=$? __envshim_f
  if [[ $_envshim_key == "$PWD|${ENVSHIM_ENV-}|${MISE_ENV-}" ]]; then
    for __envshim_f in "${_envshim_watch[@]}"; do
      if [[ $__envshim_f -nt $_envshim_stamp ]]; then
        _envshim_load
        return $__envshim_rc
      fi
    done
    return $__envshim_rc
  fi
  _envshim_load
  return $__envshim_rc
}

# The slow path: one process, its output captured completely, then evaluated.
_envshim_load() {
  emulate -L zsh
  _envshim_key="$PWD|${ENVSHIM_ENV-}|${MISE_ENV-}"
  if [[ -n ${DIRENV_FILE-} && -z ${ENVSHIM_STATE-} ]]; then
    return 0 # direnv manages this directory and nothing of ours is loaded
  fi
  local __envshim_out
  if __envshim_out=$(ENVSHIM_HOOK_PID=$$ "@ENVSHIM@" export zsh --hook); then
    eval "$__envshim_out" || :
  elif (($? > 128)); then
    _envshim_key= # interrupted (Ctrl-C): nothing applied, try again at the next prompt
  fi
}

autoload -Uz add-zsh-hook
add-zsh-hook precmd _envshim_hook
add-zsh-hook chpwd _envshim_hook
