// Shim over libusb-1.0. Kept free of logic: it only brings the header into
// Swift (libusb's helpers such as libusb_fill_bulk_transfer are inline
// functions and import as they are).
#ifndef PUMPWAND_CLIBUSB_SHIM_H
#define PUMPWAND_CLIBUSB_SHIM_H
#include <libusb-1.0/libusb.h>
#endif
