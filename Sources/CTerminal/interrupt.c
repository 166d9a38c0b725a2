// Ctrl-C during a visit must not kill pumpctl between sending a command
// and recording its outcome: the handler only counts the signal, and the
// programmer decides at safe points (a prompt, between the steps of a
// change) what to do. It is installed without SA_RESTART so a read at a
// prompt returns at once instead of waiting for Enter.
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "CTerminal.h"

static volatile sig_atomic_t interrupt_count = 0;
static volatile sig_atomic_t in_flight = 0;

static const char give_up_in_flight[] =
    "\npumpctl: interrupted three times while a command was in flight: stopping now. Its outcome is UNKNOWN "
    "(it may have been carried out: a refill may be begun with delivery paused). Its pending record is kept: "
    "run 'pumpctl interrogate' with the wand over the pump before anything else.\n";

static const char give_up[] =
    "\npumpctl: interrupted three times: stopping now. If a command was in flight, its pending record is kept: "
    "run 'pumpctl interrogate' with the wand over the pump before anything else.\n";

static void count_interrupt(int signo) {
    (void)signo;
    if (interrupt_count < 1000) interrupt_count++;
    // A third Ctrl-C means the technician must get the terminal back even if
    // an exchange is stuck; the pending record written before every send
    // makes the next run resolve whatever was in flight.
    if (interrupt_count >= 3) {
        if (in_flight) {
            ssize_t ignored = write(2, give_up_in_flight, sizeof give_up_in_flight - 1);
            (void)ignored;
            _exit(75);
        }
        ssize_t ignored = write(2, give_up, sizeof give_up - 1);
        (void)ignored;
        _exit(130);
    }
}

int pumpwand_interrupt_install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = count_interrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    if (sigaction(SIGINT, &action, NULL) != 0) return -1;
    return 0;
}

int pumpwand_interrupt_count(void) { return (int)interrupt_count; }

void pumpwand_interrupt_set_in_flight(int flag) { in_flight = flag ? 1 : 0; }
