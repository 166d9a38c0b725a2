// Shim over libudev. libudev's list iteration is a function-like macro
// (udev_list_entry_foreach), which Swift cannot import; Swift walks lists
// with udev_list_entry_get_next instead, so no C helper is needed here.
#ifndef PUMPWAND_CUDEV_SHIM_H
#define PUMPWAND_CUDEV_SHIM_H
#include <libudev.h>
#endif
