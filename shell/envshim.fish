# envshim hook for fish (the fish_prompt event and PWD changes).
# Installed with: envshim hook fish | source
#
# At every prompt, in pure shell (no process):
# - nothing changed (same $PWD and profile, no watched path newer than the stamp): return;
# - moved inside the loaded project, with no config between its root and $PWD and a
#   result that does not depend on the directory: remember where we are;
# - left it for a directory in no project: call what the load left in
#   _envshim_revert (a shell function, never exported).
# Otherwise start envshim once: it prints one script that reverts the previous load and
# applies the next, captured completely before it is evaluated.

set -g _envshim_markers @MARKERS@

function _envshim_hook --on-event fish_prompt --on-variable PWD
    set -l __envshim_rc $status
    if test "$_envshim_key" != "$PWD|$ENVSHIM_ENV|$MISE_ENV"; and not _envshim_moved
        _envshim_load
        return $__envshim_rc
    end
    for __envshim_f in $_envshim_watch
        if test "$__envshim_f" -nt "$_envshim_stamp"
            _envshim_load
            return $__envshim_rc
        end
    end
    # directories entered in pure shell: a file created in one since (not older than the stamp)
    for __envshim_f in $_envshim_chain
        if not test "$__envshim_f" -ot "$_envshim_mstamp"
            _envshim_moved; or _envshim_load
            return $__envshim_rc
        end
    end
    return $__envshim_rc
end

# $PWD or the profile changed: decide in pure shell when the result cannot differ.
# Returns 1 when a process must decide.
function _envshim_moved
    if not set -q _envshim_prof[1]; or test "$_envshim_prof" != "$ENVSHIM_ENV|$MISE_ENV"
        return 1
    end
    if not test -f "$_envshim_mstamp"; or test "$ENVSHIM_STATE" != "$_envshim_state"
        return 1 # not the state this shell's last load wrote (a child shell, or set by hand)
    end
    set -l __envshim_s $_envshim_scope
    set -l __envshim_p (string trim -r -c / -- "$__envshim_s")/
    if test -n "$__envshim_s"; and begin
            test "$PWD" = "$__envshim_s"
            or test "$(string sub -l (string length -- $__envshim_p) -- $PWD)" = "$__envshim_p"
        end
        if test "$_envshim_cwddep" != 0
            return 1
        end
        true >"$_envshim_mstamp"; or return 1
        set -g _envshim_chain
        set -l __envshim_d $PWD
        while test "$__envshim_d" != "$__envshim_s"; and test -n "$__envshim_d"
            for __envshim_n in $_envshim_names
                if test -e "$__envshim_d/$__envshim_n"
                    return 1 # config between the root and $PWD
                end
            end
            set -g -a _envshim_chain $__envshim_d
            set __envshim_d (string replace -r '/[^/]*$' '' -- $__envshim_d)
        end
    else
        set -l __envshim_d (string trim -r -c / -- $PWD)
        while true
            for __envshim_n in $_envshim_markers
                if test -f "$__envshim_d/$__envshim_n"
                    return 1 # a project: a process loads it (or says why not)
                end
            end
            test -n "$__envshim_d"; or break
            set __envshim_d (string replace -r '/[^/]*$' '' -- $__envshim_d)
        end
        true >"$_envshim_mstamp"; or return 1
        _envshim_leave
        set -g _envshim_chain $PWD # a config file created here starts a project
        if contains -- $PWD $_envshim_busy
            set -g _envshim_chain # not in a directory whose mtime changes all day
        end
    end
    set -g _envshim_key "$PWD|$ENVSHIM_ENV|$MISE_ENV"
end

# Unload in pure shell: _envshim_revert (defined by the load, parsed once then) restores
# each variable the load set, unless it was changed by hand since (those are noted in
# __envshim_h and left out of the summary).
function _envshim_leave
    set -g __envshim_h
    if test "$_envshim_loaded" = 1
        _envshim_revert
    end
    set -g _envshim_loaded 0
    set -g _envshim_state $ENVSHIM_STATE
    set -g _envshim_scope
    set -g _envshim_cwddep 0
    set -g _envshim_watch
    if test "$ENVSHIM_QUIET" != 1; and test -n "$_envshim_said"
        if test (count $__envshim_h) -eq 0
            printf '%s\n' "$_envshim_said" >&2
        else if not string match -q '* variables' -- "$_envshim_said"
            set -l __envshim_s # names: those changed by hand stayed
            for __envshim_w in (string split ' ' -- (string replace 'envshim: ' '' -- "$_envshim_said"))
                contains -- $__envshim_w $__envshim_h; or set -a __envshim_s $__envshim_w
            end
            test -n "$__envshim_s"; and printf 'envshim: %s\n' "$__envshim_s" >&2
        else
            set -l __envshim_c $_envshim_counts # counts: less those changed by hand
            for __envshim_w in $__envshim_h
                switch $__envshim_w
                    case '+*'
                        set __envshim_c[1] (math $__envshim_c[1] - 1)
                    case '~*'
                        set __envshim_c[2] (math $__envshim_c[2] - 1)
                    case '*'
                        set __envshim_c[3] (math $__envshim_c[3] - 1)
                end
            end
            set -l __envshim_s
            test $__envshim_c[1] -gt 0; and set -a __envshim_s +$__envshim_c[1]
            test $__envshim_c[2] -gt 0; and set -a __envshim_s "~$__envshim_c[2]"
            test $__envshim_c[3] -gt 0; and set -a __envshim_s -$__envshim_c[3]
            test -n "$__envshim_s"; and printf 'envshim: %s variables\n' "$__envshim_s" >&2
        end
    end
    set -e -g __envshim_h
end

# The slow path: one process, its output captured completely, then evaluated.
function _envshim_load
    set -g _envshim_key "$PWD|$ENVSHIM_ENV|$MISE_ENV"
    set -l __envshim_d
    if functions -q __direnv_export_eval
        set __envshim_d 1 # direnv's hook is active in this shell
        if test "$_envshim_waited" = "$_envshim_key"
            set __envshim_d 2 # and this shell already waited for it once here
        end
        # envshim's handler runs first (it unloads before direnv loads a directory on top:
        # direnv would record envshim's values as the ones to restore) and once more last
        # (to load after direnv unloads, when it asked to wait). fish runs handlers in the
        # order they were defined: define direnv's again, then ours (a handler defined
        # while the event runs waits for the next one, so only when the order is wrong).
        set -l __envshim_order (functions --handlers-type generic | string replace -rf '^fish_prompt (_envshim_hook|__direnv_export_eval|_envshim_again)$' '$1')
        if test "$__envshim_order" != "_envshim_hook __direnv_export_eval _envshim_again"
            functions __direnv_export_eval | source
            function _envshim_again --on-event fish_prompt
                if test -z "$_envshim_key"
                    _envshim_hook
                end
            end
        end
    end
    set -l __envshim_out (ENVSHIM_HOOK_PID=$fish_pid ENVSHIM_DIRENV=$__envshim_d "@ENVSHIM@" export fish --hook | string collect)
    set -l __envshim_status $pipestatus[1]
    if test $__envshim_status -eq 0
        printf '%s\n' $__envshim_out | source
        set -g _envshim_prof "$ENVSHIM_ENV|$MISE_ENV"
    else
        if test $__envshim_status -gt 128
            set -g _envshim_key # interrupted (Ctrl-C): nothing applied, try again next prompt
        end
        set -e -g _envshim_prof # the next move asks envshim again
    end
end
