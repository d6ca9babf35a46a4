# envshim hook for nushell 0.101+ (a pre_prompt hook).
# Installed with (once, and again after upgrading envshim):
#   envshim hook nu | save -f ($nu.default-config-dir | path join autoload envshim.nu)
#
# At every prompt, in pure nushell (no process):
# - nothing changed (same $env.PWD and profile, no watched path newer than the load):
#   return;
# - moved inside the loaded project, with no config between its root and $env.PWD and a
#   result that does not depend on the directory: remember where we are;
# - left it for a directory in no project: restore what the load changed, from the
#   revert data it left.
# Otherwise start envshim once. nushell cannot evaluate a string: envshim prints JSON
# (what to set and hide, and this hook's state), applied with load-env and hide-env.
# The hook keeps its state and the revert data (which holds the values the load set) in
# $env.__envshim, a record: nushell hands a child process only strings (and what
# ENV_CONVERSIONS turns into strings), so no child ever sees it.

const _envshim_markers = [@MARKERS@]

$env.__envshim = ($env.__envshim? | default {
    key: "" prof: null state: "" loaded: false scope: "" cwddep: false names: [] busy: []
    watch: [] stamp: 0 chain: [] mtime: 0 said: "" counts: [0 0 0] revert: []
    revert_state: ""
})

def _envshim_now [] {
    $"($env.PWD)|($env.ENVSHIM_ENV? | default '')|($env.MISE_ENV? | default '')"
}

def _envshim_prof_now [] {
    $"($env.ENVSHIM_ENV? | default '')|($env.MISE_ENV? | default '')"
}

# Whether a path that exists was modified after `than` (ns since the epoch; `or_at`:
# at it too).
def _envshim_newer [paths: list<string>, than: int, or_at: bool] {
    $paths | any {|p|
        if ($p | path exists) {
            let m = (ls -D $p | get 0.modified | into int)
            $m > $than or ($or_at and $m == $than)
        } else {
            false
        }
    }
}

# Unload in pure nushell: restore each variable the load changed, unless it was changed by
# hand since (those are left out of the summary). In bulk: one load-env and one hide-env
# (nushell copies its environment at each).
def --env _envshim_leave [] {
    let h = $env.__envshim
    mut hand = []
    if $h.loaded and ($h.revert | is-not-empty) {
        # the current values of those names only, in the same order (null: not set)
        let now = ($env | select -o ...($h.revert | get name) | transpose name cur | get cur)
        let rows = ($h.revert | merge ($now | wrap cur) | insert keep {|r|
            let cur = if ($r.cur | describe | str starts-with "list") {
                $r.cur | str join (char esep)
            } else {
                $r.cur
            }
            if $r.kind == "+" { $cur == null } else { $cur != null and $cur == $r.value }
        })
        let back = ($rows | where {|r| $r.keep and $r.kind != "-" })
        if ($back | is-not-empty) {
            load-env ($back | select name prev | transpose --header-row --as-record)
        }
        let gone = ($rows | where {|r| $r.keep and $r.kind == "-" } | get name)
        if ($gone | is-not-empty) {
            hide-env ...$gone
        }
        $hand = ($rows | where {|r| not $r.keep } | each {|r| $"($r.kind)($r.name)" })
    }
    if $h.loaded {
        $env.ENVSHIM_STATE = $h.revert_state
    }
    $env.__envshim = ($env.__envshim | merge {
        loaded: false scope: "" cwddep: false watch: [] revert: []
        state: ($env.ENVSHIM_STATE? | default "")
    })
    if ($env.ENVSHIM_QUIET? | default "") == "1" or $h.said == "" {
        return
    }
    if ($hand | is-empty) {
        print -e $h.said
        return
    }
    mut s = []
    if not ($h.said | str ends-with " variables") { # names: those changed by hand stayed
        for w in ($h.said | str replace "envshim: " "" | split row " ") {
            if not ($w in $hand) { $s = ($s | append $w) }
        }
    } else { # counts: less those changed by hand
        mut c = $h.counts
        for w in $hand {
            let i = (if ($w | str starts-with "+") { 0 } else if ($w | str starts-with "~") { 1 } else { 2 })
            $c = ($c | update $i (($c | get $i) - 1))
        }
        for i in [0 1 2] {
            if ($c | get $i) > 0 { $s = ($s | append $"(['+' '~' '-'] | get $i)($c | get $i)") }
        }
        if ($s | is-not-empty) { $s = ($s | append "variables") }
    }
    if ($s | is-not-empty) {
        print -e $"envshim: ($s | str join ' ')"
    }
}

# The slow path: one process, its output captured completely, then applied.
def --env _envshim_load [] {
    $env.__envshim.key = (_envshim_now)
    let res = (with-env {ENVSHIM_HOOK_PID: ($nu.pid | into string), ENVSHIM_DIRENV: ""} {
        ^"@ENVSHIM@" export nu --hook | complete
    })
    if $res.stderr != "" {
        print -e -n $res.stderr
    }
    let r = if $res.exit_code == 0 {
        try { $res.stdout | from json } catch { null }
    } else {
        null
    }
    if $r == null {
        if $res.exit_code > 128 {
            $env.__envshim.key = "" # interrupted (Ctrl-C): nothing applied, try again
        }
        $env.__envshim.prof = null # the next move asks envshim again
        return
    }
    load-env $r.set
    if ($r.hide | is-not-empty) {
        hide-env -i ...$r.hide
    }
    for line in $r.say {
        print -e $line
    }
    if $r.summary != "" and ($env.ENVSHIM_QUIET? | default "") != "1" {
        print -e $r.summary
    }
    $env.__envshim = ($env.__envshim | merge {
        loaded: $r.loaded scope: $r.scope cwddep: $r.cwddep names: $r.names busy: $r.busy
        watch: $r.watch stamp: $r.stamp said: $r.said counts: $r.counts revert: $r.revert
        revert_state: $r.revert_state chain: [] state: $env.ENVSHIM_STATE
        prof: (_envshim_prof_now)
    })
}

# $env.PWD or the profile changed: decide in pure nushell when the result cannot differ.
# Returns false when a process must decide.
def --env _envshim_moved [] {
    let h = $env.__envshim
    if $h.prof != (_envshim_prof_now) or ($env.ENVSHIM_STATE? | default "") != $h.state {
        return false # not the state this shell's last load wrote (a child, or set by hand)
    }
    let s = $h.scope
    let pwd = $env.PWD
    if $s != "" and ($pwd == $s or ($pwd | str starts-with $"($s | str trim -r -c '/')/")) {
        if $h.cwddep {
            return false
        }
        mut chain = []
        mut d = $pwd
        while $d != $s and $d != "/" {
            for n in $h.names {
                if ($d | path join $n | path exists) {
                    return false # config between the root and $env.PWD
                }
            }
            $chain = ($chain | append $d)
            $d = ($d | path dirname)
        }
        $env.__envshim.chain = $chain
    } else {
        mut d = $pwd
        loop {
            for n in $_envshim_markers {
                if ($d | path join $n | path exists) {
                    return false # a project: a process loads it (or says why not)
                }
            }
            if $d == "/" {
                break
            }
            $d = ($d | path dirname)
        }
        _envshim_leave
        # a config file created here starts a project, unless this directory's entries
        # change all day
        $env.__envshim.chain = (if $pwd in $env.__envshim.busy { [] } else { [$pwd] })
    }
    # a coarse filesystem clock may lag the wall clock by a tick
    $env.__envshim.mtime = ((date now | into int) - 20_000_000)
    $env.__envshim.key = (_envshim_now)
    true
}

def --env _envshim_hook [] {
    if $env.__envshim.key != (_envshim_now) and not (_envshim_moved) {
        _envshim_load
        return
    }
    let h = $env.__envshim
    if (_envshim_newer $h.watch $h.stamp false) {
        _envshim_load
        return
    }
    # directories entered in pure nushell: a file created in one since
    if (_envshim_newer $h.chain $h.mtime true) and not (_envshim_moved) {
        _envshim_load
    }
}

# Installed once: an earlier installation's hook is replaced.
$env.config.hooks.pre_prompt = (
    $env.config.hooks.pre_prompt? | default []
    | where {|f| ($f | describe) != "closure" or not (view source $f | str contains "_envshim_hook") }
    | append {|| _envshim_hook }
)
