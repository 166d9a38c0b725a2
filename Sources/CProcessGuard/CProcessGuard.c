#include "CProcessGuard.h"

#include <sys/resource.h>
#if defined(__linux__)
#include <sys/prctl.h>
#include <signal.h>
#include <unistd.h>
#endif

int pumpwand_disable_core_dumps(void) {
    struct rlimit none = {0, 0};
    int status = setrlimit(RLIMIT_CORE, &none);
#if defined(__linux__)
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) status = -1;
#endif
    return status;
}

int pumpwand_is_dumpable(void) {
#if defined(__linux__)
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
#else
    return -1;
#endif
}

int pumpwand_die_with_parent(void) {
#ifdef __linux__
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return -1;
    return getppid() == 1 ? -1 : 0;
#else
    return -1;
#endif
}
