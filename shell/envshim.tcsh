# envshim hook for tcsh 6.x: sourced by the _envshim_hook alias (run by precmd) when
# $cwd or the profile changed, or a watched path is not older than the last load.
# Installed with: eval "`envshim hook tcsh`"    in ~/.tcshrc
#
# The alias itself decides in pure tcsh that nothing changed (the common prompt): the
# load defines _envshim_w, one `-M` test per watched path, and a move defines
# _envshim_c, one per directory entered. tcsh reads file times in whole seconds, so a
# path counts as changed when its second is not before the load's (a second after an
# edit, the prompt stops asking). This file, also in pure tcsh:
# - moved inside the loaded project, with no config between its root and $cwd and a
#   result that does not depend on the directory: remember where we are;
# - left it for a directory in no project: run the aliases the load left, named in
#   _envshim_reverts (the values they compare with are shell variables, never exported).
# Otherwise it starts envshim once: its output is captured completely, then evaluated.
# tcsh has no functions and expands every variable of a one-line `if` before testing
# it, hence the blocks.

set _envshim_msgs = ( )
set _envshim_summary = ''
set _envshim_pn = ''
if ( $?ENVSHIM_ENV ) then
  set _envshim_pn = "$ENVSHIM_ENV"
endif
set _envshim_pn = "$_envshim_pn|"
if ( $?MISE_ENV ) then
  set _envshim_pn = "$_envshim_pn$MISE_ENV"
endif
set _envshim_now = "$cwd|$_envshim_pn"
set _envshim_go = 0
set _envshim_try = 0
if ( "$_envshim_now" != "$_envshim_key" ) set _envshim_try = 1
# directories entered in pure tcsh: a file created in one since
set _envshim_d = 0
_envshim_c
if ( $_envshim_d == 3 ) set _envshim_try = 1

# $cwd or the profile changed: decide in pure tcsh when the result cannot differ
if ( $_envshim_try ) then
  set _envshim_ok = 1
  if ( "$_envshim_prof" != "$_envshim_pn" ) set _envshim_ok = 0
  if ( "$_envshim_mstamp" == '' ) set _envshim_ok = 0
  if ( $_envshim_ok ) then
    if ( ! -f "$_envshim_mstamp" ) set _envshim_ok = 0
  endif
  set _envshim_cs = ''
  if ( $?ENVSHIM_STATE ) then
    set _envshim_cs = "$ENVSHIM_STATE"
  endif
  # not the state this shell's last load wrote (a child shell, or set by hand)
  if ( "$_envshim_cs" != "$_envshim_state" ) set _envshim_ok = 0
  set _envshim_in = 0
  if ( $_envshim_ok && "$_envshim_scope" != '' ) then
    set _envshim_x = "$cwd"
    while ( "$_envshim_x" != '' && "$_envshim_x" != "$_envshim_scope" )
      set _envshim_x = "$_envshim_x:h"
    end
    if ( "$_envshim_x" == "$_envshim_scope" || "$_envshim_scope" == '/' ) set _envshim_in = 1
  endif
  if ( $_envshim_ok && $_envshim_in ) then
    if ( "$_envshim_cwddep" != 0 ) set _envshim_ok = 0
    if ( $_envshim_ok ) then
      : >! "$_envshim_mstamp"
      set _envshim_chain = ( )
      set _envshim_x = "$cwd"
      while ( $_envshim_ok && "$_envshim_x" != "$_envshim_scope" && "$_envshim_x" != '' )
        foreach _envshim_n ( $_envshim_names:q )
          # config between the root and $cwd
          if ( -e "$_envshim_x/$_envshim_n" ) set _envshim_ok = 0
        end
        set _envshim_chain = ( $_envshim_chain:q "$_envshim_x" )
        set _envshim_x = "$_envshim_x:h"
      end
    endif
  else if ( $_envshim_ok ) then
    set _envshim_x = "$cwd"
    while ( $_envshim_ok )
      foreach _envshim_n ( $_envshim_markers:q )
        # a project: a process loads it (or says why not)
        if ( -f "$_envshim_x/$_envshim_n" ) set _envshim_ok = 0
      end
      if ( "$_envshim_x" == '' ) break
      set _envshim_x = "$_envshim_x:h"
    end
    if ( $_envshim_ok ) then
      : >! "$_envshim_mstamp"
      # leave: the revert alias restores each variable the load set, unless it was
      # changed by hand since (those are noted in __envshim_h, left out of the summary)
      set __envshim_h = ( )
      if ( "$_envshim_loaded" == 1 ) then
        foreach _envshim_a ( $_envshim_reverts )
          eval $_envshim_a
        end
      endif
      set _envshim_loaded = 0
      set _envshim_state = ''
      if ( $?ENVSHIM_STATE ) then
        set _envshim_state = "$ENVSHIM_STATE"
      endif
      set _envshim_scope = ''
      set _envshim_cwddep = 0
      set _envshim_watch = ( )
      alias _envshim_w ':'
      set _envshim_quiet = 0
      if ( $?ENVSHIM_QUIET ) then
        if ( "$ENVSHIM_QUIET" == 1 ) set _envshim_quiet = 1
      endif
      if ( $_envshim_quiet == 0 && "$_envshim_said" != '' ) then
        if ( $#__envshim_h == 0 ) then
          set _envshim_msgs = ( $_envshim_msgs:q "$_envshim_said" )
        else if ( "$_envshim_said" =~ '* variables' ) then
          # counts: less those changed by hand
          @ _envshim_c1 = $_envshim_counts[1]
          @ _envshim_c2 = $_envshim_counts[2]
          @ _envshim_c3 = $_envshim_counts[3]
          foreach _envshim_u ( $__envshim_h:q )
            if ( "$_envshim_u" =~ '+*' ) @ _envshim_c1--
            if ( "$_envshim_u" =~ '~*' ) @ _envshim_c2--
            if ( "$_envshim_u" =~ '-*' ) @ _envshim_c3--
          end
          set _envshim_s = ''
          if ( $_envshim_c1 > 0 ) set _envshim_s = "$_envshim_s +$_envshim_c1"
          if ( $_envshim_c2 > 0 ) set _envshim_s = "$_envshim_s ~$_envshim_c2"
          if ( $_envshim_c3 > 0 ) set _envshim_s = "$_envshim_s -$_envshim_c3"
          if ( "$_envshim_s" != '' ) set _envshim_msgs = ( $_envshim_msgs:q "envshim:$_envshim_s variables" )
        else
          # names: those changed by hand stayed
          set _envshim_s = ''
          foreach _envshim_w ( $_envshim_said:x )
            set _envshim_f = 0
            if ( "$_envshim_w" == 'envshim:' ) set _envshim_f = 1
            foreach _envshim_u ( $__envshim_h:q )
              if ( "$_envshim_u" == "$_envshim_w" ) set _envshim_f = 1
            end
            if ( $_envshim_f == 0 ) set _envshim_s = "$_envshim_s $_envshim_w"
          end
          if ( "$_envshim_s" != '' ) set _envshim_msgs = ( $_envshim_msgs:q "envshim:$_envshim_s" )
        endif
      endif
      # a config file created here starts a project, unless this directory's entries
      # change all day
      set _envshim_chain = ( "$cwd" )
      foreach _envshim_x ( $_envshim_busy:q )
        if ( "$_envshim_x" == "$cwd" ) set _envshim_chain = ( )
      end
    endif
  endif
  if ( $_envshim_ok ) then
    set _envshim_key = "$_envshim_now"
    set _envshim_cwd = "$cwd"
    @ _envshim_mtime = -M "$_envshim_mstamp"
    set _envshim_t = ':'
    @ _envshim_i = 1
    while ( $_envshim_i <= $#_envshim_chain )
      set _envshim_t = "$_envshim_t; if ( -M "'"$_envshim_chain['"$_envshim_i"']" >= $_envshim_mtime ) set _envshim_d = 3'
      @ _envshim_i++
    end
    alias _envshim_c "$_envshim_t"
  else
    set _envshim_go = 1
  endif
endif

if ( $_envshim_go == 0 ) then
  set _envshim_d = 0
  _envshim_w
  if ( $_envshim_d == 2 ) set _envshim_go = 1
endif

# The slow path: one process, its output captured completely, then evaluated.
if ( $_envshim_go ) then
  set _envshim_out = "`setenv ENVSHIM_HOOK_PID $$; unsetenv ENVSHIM_DIRENV; $_envshim_cmd:q export tcsh --hook`"
  # after the capture: interrupted (Ctrl-C), this file stops before it and the next
  # prompt tries again
  set _envshim_key = "$_envshim_now"
  set _envshim_cwd = "$cwd"
  if ( $#_envshim_out == 0 ) then
    set _envshim_prof = '' # failed (it said why): the next move asks envshim again
  else
    eval "$_envshim_out"
    set _envshim_prof = "$_envshim_pn"
  endif
endif

if ( $#_envshim_msgs || "$_envshim_summary" != '' ) then
  # printed as they are: no backslash sequence is interpreted
  set _envshim_es = ''
  if ( $?echo_style ) then
    set _envshim_es = "$echo_style"
  endif
  set echo_style = bsd
  foreach _envshim_m ( $_envshim_msgs:q )
    echo "$_envshim_m" >> /dev/stderr
  end
  set _envshim_quiet = 0
  if ( $?ENVSHIM_QUIET ) then
    if ( "$ENVSHIM_QUIET" == 1 ) set _envshim_quiet = 1
  endif
  if ( "$_envshim_summary" != '' && $_envshim_quiet == 0 ) echo "$_envshim_summary" >> /dev/stderr
  if ( "$_envshim_es" == '' ) then
    unset echo_style
  else
    set echo_style = "$_envshim_es"
  endif
endif
