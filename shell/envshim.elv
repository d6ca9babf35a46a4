# envshim hook for elvish 0.19+ (edit:before-readline).
# Installed with: eval (envshim hook elvish | slurp)    in ~/.config/elvish/rc.elv
#
# At every prompt, in pure elvish (no process):
# - nothing changed (same $pwd and profile, every watched path as the load left it):
#   return. elvish cannot read a file's time, so the hook compares what it can read:
#   the text of each watched file, the names in each watched directory, and whether a
#   missing path is still missing, against what they were just after the load (kept in
#   this shell's variables, never exported);
# - moved inside the loaded project, with no config between its root and $pwd and a
#   result that does not depend on the directory: remember where we are;
# - left it for a directory in no project: call the revert closure the load left.
# Otherwise start envshim once: it prints one script that reverts the previous load and
# applies the next, captured completely before it is evaluated. The script ends with a
# map (the hook's state and the revert closure) that this hook keeps.

use path
use str

var _envshim_markers = [@MARKERS@]
var _envshim_key = ''
var _envshim_prof = $nil
var _envshim_state = ''
var _envshim_none = [&files=[] &dirs=[] &missing=[]]
var _envshim_h = [&loaded=$false &scope='' &cwddep='0' &names=[] &busy=[] &watch=$_envshim_none &said='' &counts=['0' '0' '0'] &revert={|| }]
var _envshim_seen = [] # the watched paths as the load left them
var _envshim_chain = [] # directories entered in pure elvish
var _envshim_chain_seen = []

fn _envshim_now { put $pwd'|'$E:ENVSHIM_ENV'|'$E:MISE_ENV }

fn _envshim_exists {|p|
  or (path:is-dir &follow-symlink=$true $p) (path:is-regular &follow-symlink=$true $p)
}

# What the watched paths hold now: the text of the files (nil when one is not a readable
# regular file any more), the names in the directories, whether the missing paths exist.
# No block per path (elvish makes one at every iteration, tens of microseconds each),
# and one command a line (elvish runs `a; b` many times slower than a newline).
fn _envshim_look {|w|
  var text = $nil
  if (and (for p $w[files] { path:is-regular &follow-symlink=$true $p })) {
    try {
      set text = [(for p $w[files] { slurp < $p })]
    } catch { }
  }
  put [$text [(for d $w[dirs] { put [(put $d/*[match-hidden][nomatch-ok])] })] [(
    for p $w[missing] {
      path:is-regular &follow-symlink=$true $p
      path:is-dir &follow-symlink=$true $p
    }
  )]]
}
set _envshim_seen = (_envshim_look $_envshim_none)
set _envshim_chain_seen = $_envshim_seen

# Unload in pure elvish: the revert closure (made by the load) restores each variable the
# load set, unless it was changed by hand since (it puts those, to leave them out of the
# summary).
fn _envshim_leave {
  var hand = []
  if $_envshim_h[loaded] {
    set hand = [($_envshim_h[revert])]
  }
  var said = $_envshim_h[said]
  set _envshim_h[loaded] = $false
  set _envshim_h[scope] = ''
  set _envshim_h[cwddep] = '0'
  set _envshim_h[watch] = $_envshim_none
  set _envshim_seen = (_envshim_look $_envshim_none)
  set _envshim_state = $E:ENVSHIM_STATE
  if (or (eq $E:ENVSHIM_QUIET 1) (eq $said '')) {
    return
  }
  if (== (count $hand) 0) {
    echo $said >&2
    return
  }
  var s = ''
  if (not (str:has-suffix $said ' variables')) { # names: those changed by hand stayed
    for w [(str:split ' ' (str:trim-prefix $said 'envshim: '))] {
      if (not (has-value $hand $w)) {
        set s = $s' '$w
      }
    }
  } else { # counts: less those changed by hand
    var c = [(all $_envshim_h[counts])]
    for w $hand {
      var i = (if (str:has-prefix $w '+') { put 0 } elif (str:has-prefix $w '~') { put 1 } else { put 2 })
      set c[$i] = (- $c[$i] 1)
    }
    for i [0 1 2] {
      if (> $c[$i] 0) {
        set s = $s' '[+ '~' -][$i](to-string $c[$i])
      }
    }
    if (not-eq $s '') {
      set s = $s' variables'
    }
  }
  if (not-eq $s '') {
    echo 'envshim:'$s >&2
  }
}

# The slow path: one process, its output captured completely, then evaluated.
fn _envshim_load {
  set _envshim_key = (_envshim_now)
  var out = ''
  try {
    set out = ({
      tmp E:ENVSHIM_HOOK_PID = (to-string $pid)
      tmp E:ENVSHIM_DIRENV = ''
      "@ENVSHIM@" export elvish --hook
    } | slurp)
  } catch e {
    try {
      var r = $e[reason]
      if (or (eq $r[type] external-cmd/signaled) (> $r[exit-status] 128)) {
        set _envshim_key = '' # interrupted (Ctrl-C): nothing applied, try again next prompt
      }
    } catch { }
    set _envshim_prof = $nil # the next move asks envshim again
    return
  }
  var h = $nil
  try {
    set h = (eval $out)
  } catch e {
    echo 'envshim: the hook could not apply envshim''s output; nothing loaded here' >&2
    set _envshim_prof = $nil
    return
  }
  set _envshim_h = $h
  set _envshim_state = $E:ENVSHIM_STATE
  set _envshim_prof = $E:ENVSHIM_ENV'|'$E:MISE_ENV
  set _envshim_chain = []
  set _envshim_chain_seen = (_envshim_look $_envshim_none)
  set _envshim_seen = (_envshim_look $h[watch])
}

# $pwd or the profile changed: decide in pure elvish when the result cannot differ.
# Puts $false when a process must decide.
fn _envshim_moved {
  if (or (not-eq $_envshim_prof $E:ENVSHIM_ENV'|'$E:MISE_ENV) (not-eq $E:ENVSHIM_STATE $_envshim_state)) {
    put $false # not the state this shell's last load wrote (a child shell, or set by hand)
    return
  }
  var s = $_envshim_h[scope]
  if (and (not-eq $s '') (or (eq $pwd $s) (str:has-prefix $pwd (str:trim-right $s /)/))) {
    if (not-eq $_envshim_h[cwddep] '0') {
      put $false
      return
    }
    var chain = []
    var d = $pwd
    while (and (not-eq $d $s) (not-eq $d /)) {
      for n $_envshim_h[names] {
        if (_envshim_exists $d/$n) {
          put $false # config between the root and $pwd
          return
        }
      }
      set chain = [$@chain $d]
      set d = (path:dir $d)
    }
    set _envshim_chain = $chain
  } else {
    var d = $pwd
    while $true {
      for n $_envshim_markers {
        if (path:is-regular &follow-symlink=$true $d/$n) {
          put $false # a project: a process loads it (or says why not)
          return
        }
      }
      if (eq $d /) {
        break
      }
      set d = (path:dir $d)
    }
    _envshim_leave
    set _envshim_chain = [$pwd] # a config file created here starts a project
    if (has-value $_envshim_h[busy] $pwd) {
      set _envshim_chain = [] # not in a directory whose entries change all day
    }
  }
  set _envshim_chain_seen = (_envshim_look [&files=[] &dirs=$_envshim_chain &missing=[]])
  set _envshim_key = (_envshim_now)
  put $true
}

fn _envshim_hook {
  if (and (not-eq $_envshim_key (_envshim_now)) (not (_envshim_moved))) {
    _envshim_load
    return
  }
  if (not-eq $_envshim_seen (_envshim_look $_envshim_h[watch])) {
    _envshim_load
    return
  }
  # directories entered in pure elvish: an entry created in one since
  if (not-eq $_envshim_chain_seen (_envshim_look [&files=[] &dirs=$_envshim_chain &missing=[]])) {
    if (not (_envshim_moved)) {
      _envshim_load
    }
  }
}

# Installed once: an earlier installation's hook is replaced.
set edit:before-readline = [(
  for f $edit:before-readline {
    if (not (and (eq (kind-of $f) fn) (str:contains $f[body] _envshim_hook))) {
      put $f
    }
  }
) {|| _envshim_hook }]
