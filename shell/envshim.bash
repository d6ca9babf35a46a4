# envshim hook for bash 4.4+ (PROMPT_COMMAND as a string, or an array in bash 5.1+).
# Installed with: eval "$(envshim hook bash)"
#
# Fast path: same $PWD and profile, and no watched path newer than this shell's stamp
# file: return without starting a process. Otherwise ask envshim for one script that
# reverts the previous load and applies the new one; it is captured completely
# before it is evaluated, so a failure applies nothing.

_envshim_hook() {
  local __envshim_rc=$? __envshim_f
  if [[ ${_envshim_key-} == "$PWD|${ENVSHIM_ENV-}|${MISE_ENV-}" ]]; then
    for __envshim_f in "${_envshim_watch[@]}"; do
      if [[ $__envshim_f -nt ${_envshim_stamp-} ]]; then
        _envshim_load
        return "$__envshim_rc"
      fi
    done
    return "$__envshim_rc"
  fi
  _envshim_load
  return "$__envshim_rc"
}

# The slow path: one process, its output captured completely, then evaluated.
_envshim_load() {
  _envshim_key="$PWD|${ENVSHIM_ENV-}|${MISE_ENV-}"
  if [[ -n ${DIRENV_FILE-} && -z ${ENVSHIM_STATE-} ]]; then
    return 0 # direnv manages this directory and nothing of ours is loaded
  fi
  local __envshim_out
  if __envshim_out=$(ENVSHIM_HOOK_PID=$$ "@ENVSHIM@" export bash --hook); then
    eval "$__envshim_out" || :
  elif (($? > 128)); then
    _envshim_key= # interrupted (Ctrl-C): nothing applied, try again at the next prompt
  fi
}

if [[ -z ${_envshim_watch+set} ]]; then
  _envshim_watch=()
fi

_envshim_install() {
  local __envshim_cmd
  for __envshim_cmd in "${PROMPT_COMMAND[@]}"; do
    if [[ ";$__envshim_cmd;" == *";_envshim_hook;"* ]]; then
      return 0
    fi
  done
  if [[ $(declare -p PROMPT_COMMAND 2>/dev/null) == "declare -a"* ]]; then
    PROMPT_COMMAND=(_envshim_hook "${PROMPT_COMMAND[@]}")
  else
    PROMPT_COMMAND="_envshim_hook${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
  fi
}
_envshim_install
unset -f _envshim_install
