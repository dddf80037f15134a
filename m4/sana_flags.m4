# sana_flags.m4 -- small helpers of our own for probing compiler flags.
#
# SANA_CHECK_CFLAG(FLAG, VAR): append FLAG to VAR when the C compiler accepts it
# (compile and link of an empty program with -Werror, so unknown flags fail).
AC_DEFUN([SANA_CHECK_CFLAG], [
  AC_MSG_CHECKING([whether $CC accepts $1])
  sana_save_CFLAGS=$CFLAGS
  CFLAGS="$CFLAGS $1 -Werror"
  AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
    [AC_MSG_RESULT([yes]); $2="$$2 $1"],
    [AC_MSG_RESULT([no])])
  CFLAGS=$sana_save_CFLAGS
])
