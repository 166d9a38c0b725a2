// Pseudo-terminal creation for the serial path: the tests' stand-in for a
// wand's tty, and later wandsim's pty. posix_openpt, grantpt, unlockpt and
// ptsname_r are hidden from Swift's Glibc module (they need _XOPEN_SOURCE),
// so this small C target wraps them.
#ifndef PUMPWAND_CTERMINAL_H
#define PUMPWAND_CTERMINAL_H
#include <stddef.h>

/// Opens a new pseudo-terminal master (O_RDWR|O_NOCTTY|O_CLOEXEC), grants and
/// unlocks its slave, and writes the slave's path into `name` (`size` bytes).
/// Returns the master's file descriptor, or -errno on failure (nothing is
/// left open then).
int pumpwand_open_pseudoterminal(char *name, size_t size);

/// Installs the SIGINT handler that only counts (no SA_RESTART, so a
/// blocked read at a prompt returns). Returns 0, or -1 when sigaction fails.
int pumpwand_interrupt_install(void);

/// Marks a state-changing command as in flight (1) or settled (0), so a
/// forced exit says its outcome is unknown and exits 75.
void pumpwand_interrupt_set_in_flight(int flag);

/// How many SIGINTs arrived since the handler was installed.
int pumpwand_interrupt_count(void);

#endif
