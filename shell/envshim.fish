# envshim hook for fish (the fish_prompt event and PWD changes).
# Installed with: envshim hook fish | source
#
# Fast path: same $PWD and profile, and no watched path newer than this shell's stamp
# file: return without starting a process. Otherwise ask envshim for one script that
# reverts the previous load and applies the new one; it is captured completely
# before it is evaluated, so a failure applies nothing.

function _envshim_hook --on-event fish_prompt --on-variable PWD
    set -l __envshim_rc $status
    if test -n "$DIRENV_FILE"; and not set -q ENVSHIM_STATE
        return $__envshim_rc
    end
    set -l __envshim_key "$PWD|$ENVSHIM_ENV|$MISE_ENV"
    if test "$_envshim_key" = "$__envshim_key"
        set -l __envshim_stale
        for __envshim_f in $_envshim_watch
            if test "$__envshim_f" -nt "$_envshim_stamp"
                set __envshim_stale 1
                break
            end
        end
        if test -z "$__envshim_stale"
            return $__envshim_rc
        end
    end
    set -g _envshim_key $__envshim_key
    set -l __envshim_out (ENVSHIM_HOOK_PID=$fish_pid "@ENVSHIM@" export fish --hook | string collect)
    set -l __envshim_status $pipestatus[1]
    if test $__envshim_status -eq 0
        printf '%s\n' $__envshim_out | source
    else if test $__envshim_status -gt 128
        set -g _envshim_key # interrupted (Ctrl-C): nothing applied, try again next prompt
    end
    return $__envshim_rc
end
