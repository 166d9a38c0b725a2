#ifndef PUMPWAND_CPROCESSGUARD_H
#define PUMPWAND_CPROCESSGUARD_H

/// Stops this process from leaving a core dump or being read through
/// /proc or ptrace by other processes of the same user, while it holds a
/// pump key: RLIMIT_CORE 0 and, on Linux, PR_SET_DUMPABLE 0 (prctl is
/// variadic, so Swift cannot call it directly). Returns 0 when both took
/// effect, -1 otherwise (errno is set).
int pumpwand_disable_core_dumps(void);

/// Whether this process may still dump core or be traced: 1 dumpable,
/// 0 not, -1 unknown.
int pumpwand_is_dumpable(void);

/// Has the kernel send SIGKILL to this process when its parent ends
/// (PR_SET_DEATHSIG), then returns 0, or -1 if it could not be set or the
/// parent has already ended (the process was handed to init). For a
/// helper that must not outlive the program that started it.
int pumpwand_die_with_parent(void);

#endif
