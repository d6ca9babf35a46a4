# envshim hook for zsh (precmd and chpwd). Installed with: eval "$(envshim hook zsh)"
#
# At every prompt, in pure shell (no process):
# - nothing changed (same $PWD and profile, no watched path newer than the stamp): return;
# - moved inside the loaded project, with no config between its root and $PWD and a
#   result that does not depend on the directory: remember where we are;
# - left it for a directory in no project: call what the load left in
#   _envshim_revert (a shell function, never exported).
# Otherwise start envshim once: it prints one script that reverts the previous load and
# applies the next, captured completely before it is evaluated.

typeset -ga _envshim_watch _envshim_chain _envshim_names _envshim_busy _envshim_markers
typeset -g _envshim_stamp _envshim_mstamp _envshim_key _envshim_prof _envshim_scope
typeset -g _envshim_cwddep _envshim_loaded _envshim_said _envshim_state _envshim_waited
typeset -ga _envshim_counts
_envshim_markers=(@MARKERS@)

_envshim_hook() {
  local __envshim_rc=$? __envshim_f
  if [[ $_envshim_key != "$PWD|${ENVSHIM_ENV-}|${MISE_ENV-}" ]] && ! _envshim_moved; then
    _envshim_load
    return $__envshim_rc
  fi
  for __envshim_f in "${_envshim_watch[@]}"; do
    if [[ $__envshim_f -nt $_envshim_stamp ]]; then
      _envshim_load
      return $__envshim_rc
    fi
  done
  # directories entered in pure shell: a file created in one since (not older than the stamp)
  for __envshim_f in "${_envshim_chain[@]}"; do
    if [[ ! $__envshim_f -ot $_envshim_mstamp ]]; then
      _envshim_moved || _envshim_load
      return $__envshim_rc
    fi
  done
  return $__envshim_rc
}

# $PWD or the profile changed: decide in pure shell when the result cannot differ.
# Returns 1 when a process must decide.
_envshim_moved() {
  emulate -L zsh
  local __envshim_d __envshim_n __envshim_s=$_envshim_scope
  if [[ -z $_envshim_prof || $_envshim_prof != "${ENVSHIM_ENV-}|${MISE_ENV-}" || ! -f $_envshim_mstamp ]]; then
    return 1
  fi
  if [[ ${ENVSHIM_STATE-} != "$_envshim_state" ]]; then
    return 1 # not the state this shell's last load wrote (a child shell, or set by hand)
  fi
  if [[ -n $__envshim_s && ($PWD == "$__envshim_s" || $PWD == "${__envshim_s%/}"/*) ]]; then
    if [[ $_envshim_cwddep != 0 ]]; then
      return 1
    fi
    : >|"$_envshim_mstamp" || return 1
    _envshim_chain=()
    __envshim_d=$PWD
    while [[ $__envshim_d != "$__envshim_s" && -n $__envshim_d ]]; do
      for __envshim_n in "${_envshim_names[@]}"; do
        if [[ -e $__envshim_d/$__envshim_n ]]; then
          return 1 # config between the root and $PWD
        fi
      done
      _envshim_chain+=("$__envshim_d")
      __envshim_d=${__envshim_d%/*}
    done
  else
    __envshim_d=${PWD%/}
    while :; do
      for __envshim_n in "${_envshim_markers[@]}"; do
        if [[ -f $__envshim_d/$__envshim_n ]]; then
          return 1 # a project: a process loads it (or says why not)
        fi
      done
      if [[ -z $__envshim_d ]]; then
        break
      fi
      __envshim_d=${__envshim_d%/*}
    done
    : >|"$_envshim_mstamp" || return 1
    _envshim_leave
    _envshim_chain=("$PWD") # a config file created here starts a project
    if (( ${_envshim_busy[(Ie)$PWD]} )); then
      _envshim_chain=() # not in a directory whose mtime changes all day
    fi
  fi
  _envshim_key="$PWD|${ENVSHIM_ENV-}|${MISE_ENV-}"
}

# Unload in pure shell: _envshim_revert (defined by the load, parsed once then) restores
# each variable the load set, unless it was changed by hand since (those are noted in
# __envshim_h and left out of the summary).
_envshim_leave() {
  emulate -L zsh
  local -a __envshim_h __envshim_c
  local __envshim_w __envshim_s=
  if [[ $_envshim_loaded == 1 ]]; then
    _envshim_revert
  fi
  _envshim_loaded=0 _envshim_state=${ENVSHIM_STATE-} _envshim_scope= _envshim_cwddep=0
  _envshim_watch=()
  if [[ ${ENVSHIM_QUIET-} == 1 || -z $_envshim_said ]]; then
    return 0
  fi
  if (( ${#__envshim_h} == 0 )); then
    printf '%s\n' "$_envshim_said" >&2
    return 0
  fi
  if [[ $_envshim_said != *' variables' ]]; then # names: those changed by hand stayed
    for __envshim_w in ${(s: :)${_envshim_said#envshim: }}; do
      if (( ! ${__envshim_h[(Ie)$__envshim_w]} )); then
        __envshim_s+=" $__envshim_w"
      fi
    done
  else # counts: less those changed by hand
    __envshim_c=("${_envshim_counts[@]}")
    for __envshim_w in "${__envshim_h[@]}"; do
      case $__envshim_w in
        (+*) __envshim_c[1]=$(( __envshim_c[1] - 1 )) ;;
        ('~'*) __envshim_c[2]=$(( __envshim_c[2] - 1 )) ;;
        (*) __envshim_c[3]=$(( __envshim_c[3] - 1 )) ;;
      esac
    done
    if (( __envshim_c[1] )); then __envshim_s+=" +$__envshim_c[1]"; fi
    if (( __envshim_c[2] )); then __envshim_s+=" ~$__envshim_c[2]"; fi
    if (( __envshim_c[3] )); then __envshim_s+=" -$__envshim_c[3]"; fi
    if [[ -n $__envshim_s ]]; then __envshim_s+=" variables"; fi
  fi
  if [[ -n $__envshim_s ]]; then
    printf 'envshim:%s\n' "$__envshim_s" >&2
  fi
}

# zsh's eval slows down quadratically with the number of commands in one string: a big
# script (thousands of variables) is evaluated one line at a time (each line is a command).
_envshim_eval() {
  local __envshim_l
  if (( ${#1} < 65536 )); then
    eval "$1"
    return
  fi
  for __envshim_l in "${(@f)1}"; do
    eval "$__envshim_l"
  done
}

# The slow path: one process, its output captured completely, then evaluated.
_envshim_load() {
  emulate -L zsh
  local __envshim_out __envshim_d=
  _envshim_key="$PWD|${ENVSHIM_ENV-}|${MISE_ENV-}"
  if (( ${+precmd_functions} )) && (( ${precmd_functions[(Ie)_direnv_hook]} )); then
    __envshim_d=1 # direnv's hook is active in this shell
    if [[ $_envshim_waited == "$_envshim_key" ]]; then
      __envshim_d=2 # and this shell already waited for it once here
    fi
    # envshim's hook runs first (it unloads before direnv loads a directory on top: direnv
    # would record envshim's values as the ones to restore) and once more last (to load
    # after direnv unloads, when it asked to wait for it)
    if [[ ${precmd_functions[1]} != _envshim_hook || ${precmd_functions[-1]} != _envshim_again ]]; then
      precmd_functions=(_envshim_hook ${precmd_functions:#_envshim_(hook|again)} _envshim_again)
    fi
    if [[ ${chpwd_functions[1]-} != _envshim_hook || ${chpwd_functions[-1]-} != _envshim_again ]]; then
      chpwd_functions=(_envshim_hook ${chpwd_functions:#_envshim_(hook|again)} _envshim_again)
    fi
  fi
  if __envshim_out=$(ENVSHIM_HOOK_PID=$$ ENVSHIM_DIRENV=$__envshim_d "@ENVSHIM@" export zsh --hook); then
    _envshim_eval "$__envshim_out" || :
    _envshim_prof="${ENVSHIM_ENV-}|${MISE_ENV-}"
  else
    if (( $? > 128 )); then
      _envshim_key= # interrupted (Ctrl-C): nothing applied, try again at the next prompt
    fi
    _envshim_prof= # the next move asks envshim again
  fi
}

_envshim_again() {
  local __envshim_rc=$?
  if [[ -z $_envshim_key ]]; then
    _envshim_hook
  fi
  return $__envshim_rc
}

autoload -Uz add-zsh-hook
add-zsh-hook precmd _envshim_hook
add-zsh-hook chpwd _envshim_hook
